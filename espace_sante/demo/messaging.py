"""Demo conversations in Marie Durand's messaging, written through the services.

Idempotent: nothing is added when Marie already has conversations. The
emails these messages would send are marked as sent: the demo does not fill
var/mail with notifications on first run.
"""

from datetime import timedelta

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from espace_sante.access.policy import Actor, ActorKind
from espace_sante.messaging import services
from espace_sante.messaging.models import Conversation, Message


def _acting(professional, organization) -> Actor:
    return Actor(
        ActorKind.PROFESSIONAL,
        user_id=professional.user_id,
        professional_id=professional.id,
        organization_id=organization.id,
        profession=professional.profession,
    )


def _backdate(conversation: Conversation, days_ago: float) -> None:
    """Spread the story over the last weeks (messages keep their order)."""
    start = timezone.now() - timedelta(days=days_ago)
    messages = list(Message.objects.filter(conversation=conversation).order_by("created_at"))
    for n, message in enumerate(messages):
        when = start + timedelta(hours=3 * n)
        Message.objects.filter(pk=message.pk).update(
            created_at=when,
            read_by_patient_at=when if message.read_by_patient_at else None,
            read_by_professional_at=when if message.read_by_professional_at else None,
        )
    Conversation.objects.filter(pk=conversation.pk).update(
        last_message_at=start + timedelta(hours=3 * (len(messages) - 1))
    )


@transaction.atomic
def load_messaging_demo(people: dict, professionals: dict, organizations: dict) -> int:
    from espace_sante.demo.documents import _pdf
    from espace_sante.pharmacy import services as pharmacy

    marie = people["marie"]
    if Conversation.objects.filter(patient=marie).exists():
        return 0
    martin = professionals["10001234565"]
    benali = professionals["10002345675"]
    lefevre = professionals["10003456786"]
    cabinet = organizations["310001235"]
    chu = organizations["310004569"]
    carmes = organizations["310007893"]
    dr_martin = _acting(martin, cabinet)
    dr_benali = _acting(benali, chu)
    pharmacist = _acting(lefevre, carmes)
    marie_actor = Actor(ActorKind.PATIENT, user_id=marie.user_id, person_id=marie.id)
    now = timezone.localtime()

    # 1. Results with the PDF attached; Marie replied, the doctor answered.
    results_pdf = _pdf(
        cabinet,
        martin,
        marie,
        "Interprétation du bilan sanguin",
        "<p>Numération formule sanguine, ferritine et bilan lipidique dans les normes. "
        "Légère carence en vitamine D (22 ng/mL) : supplémentation proposée.</p>",
        now - timedelta(days=12),
    )
    results = services.start_conversation(
        dr_martin,
        marie,
        subject="Résultats de votre bilan sanguin",
        body="Bonjour Madame Durand,\n\nVos résultats sont bons dans l'ensemble. Seule la "
        "vitamine D est un peu basse : je vous propose une ampoule de 100 000 UI par mois "
        "pendant trois mois (ordonnance à retirer au cabinet).\n\nVous trouverez mon "
        "interprétation en pièce jointe.\n\nBien cordialement,\nDr Claire Martin",
        attachments=[ContentFile(results_pdf, name="interpretation-bilan.pdf")],
    )
    services.read_conversation(marie_actor, results)
    services.reply(
        marie_actor,
        results,
        "Bonjour Docteur,\n\nMerci pour ces explications. Faut-il refaire un dosage après "
        "les trois mois ?\n\nMarie Durand",
    )
    services.read_conversation(dr_martin, results)
    services.reply(
        dr_martin,
        results,
        "Oui, un contrôle dans quatre mois suffira : je vous ferai l'ordonnance à votre "
        "prochaine consultation.",
    )
    _backdate(results, 12)

    # 2. An appointment from the hospital, no reply expected, not read yet.
    appointment = services.start_conversation(
        dr_benali,
        marie,
        subject="Votre rendez-vous de cardiologie",
        body="Bonjour,\n\nVotre échographie cardiaque de contrôle est prévue le mardi 15 "
        "décembre à 9 h 30, Hôpital Rangueil, bâtiment H1, 2e étage.\n\nMerci de venir "
        "avec votre carte Vitale et vos derniers résultats.\nPlan d'accès : "
        "https://www.chu-toulouse.fr/\n\nSecrétariat de cardiologie",
        reply_mode=Conversation.ReplyMode.NO_REPLY,
    )
    _backdate(appointment, 2)

    # 3. A reminder the doctor closed once done.
    reminder = services.start_conversation(
        dr_martin,
        marie,
        subject="Rappel : vaccination contre la grippe",
        body="Bonjour,\n\nLa campagne de vaccination contre la grippe a commencé. Vous pouvez "
        "vous faire vacciner au cabinet ou en pharmacie.\n\nDr Claire Martin",
    )
    services.read_conversation(marie_actor, reminder)
    services.reply(marie_actor, reminder, "Merci, je passerai à la pharmacie cette semaine.")
    services.close_conversation(
        dr_martin, reminder, "Vaccination faite en pharmacie : cette conversation est terminée."
    )
    _backdate(reminder, 30)

    # 4. A prescription sent to the pharmacy, now ready.
    prescription_pdf = _pdf(
        cabinet,
        martin,
        marie,
        "Ordonnance",
        "<p>Cholécalciférol 100 000 UI, solution buvable en ampoule : une ampoule par mois "
        "pendant 3 mois.</p>",
        now - timedelta(days=3),
    )
    order = pharmacy.send_prescription(
        marie_actor,
        marie,
        carmes,
        photo=ContentFile(prescription_pdf, name="ordonnance-vitamine-d.pdf"),
        note="Bonjour, je passerai la chercher en fin de journée.",
    )
    pharmacy.set_status(pharmacist, order, "preparing")
    pharmacy.set_status(pharmacist, order, "ready")
    _backdate(order.conversation, 1)

    # The demo's own story is not news: no notification emails for it.
    Message.objects.filter(patient=marie).update(notified_at=timezone.now())
    return 4
