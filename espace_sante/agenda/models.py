from .questionnaire_models import QuestionnaireResponse  # noqa: F401
