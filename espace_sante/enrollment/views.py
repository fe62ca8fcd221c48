"""Public pages (no account): activate, object, get a new code.

Thin: each view checks a form, calls one service and renders. Wrong codes
count against the person (services.check_code) and against the address
the requests come from (a cache counter, as for sign-in).
"""

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from espace_sante.access.middleware import client_ip
from espace_sante.identity.models import Person

from . import services
from .forms import (
    AccountForm,
    CloseCodeForm,
    CloseForm,
    ConfirmObjectionForm,
    IdentifyForm,
    NewCodeForm,
)
from .services import CodeRefused, TransitionRefused

ATTEMPTS_PER_ADDRESS = 30
ATTEMPT_WINDOW = 15 * 60
STEP_SECONDS = 15 * 60
SESSION_KEY = "enrollment_activation"
RECEIPT_KEY = "enrollment_receipt"

REFUSALS = {
    CodeRefused.MISMATCH: "Ces informations ne correspondent pas. Vérifiez le code provisoire, "
    "votre numéro de sécurité sociale et le numéro de série de votre carte Vitale.",
    CodeRefused.EXPIRED: "Ce code provisoire a expiré. Demandez un nouveau code : il sera envoyé "
    "à vos coordonnées.",
    CodeRefused.USED: "Ce code provisoire a déjà servi. Demandez un nouveau code : il sera envoyé "
    "à vos coordonnées.",
    CodeRefused.LOCKED: "Trop d'essais erronés : pour votre sécurité, le formulaire est bloqué "
    "pendant une heure. Vous pouvez demander un nouveau code en attendant.",
}
TOO_MANY = (
    "Trop de tentatives depuis votre connexion : réessayez dans un quart d'heure. "
    "Vous pouvez aussi demander un nouveau code."
)


def _over_limit(request) -> bool:
    key = f"enrollment-attempts:{client_ip(request) or 'inconnue'}"
    cache.add(key, 0, ATTEMPT_WINDOW)
    try:
        return cache.incr(key) > ATTEMPTS_PER_ADDRESS
    except ValueError:  # expired between add and incr
        cache.set(key, 1, ATTEMPT_WINDOW)
        return False


def _check(request, form):
    """The CodeCheck, or None with the refusal added to the form."""
    if _over_limit(request):
        form.add_error(None, TOO_MANY)
        return None
    data = form.cleaned_data
    try:
        return services.check_code(data["nir"], data["card_serial"], data["code"])
    except CodeRefused as refused:
        form.add_error(None, REFUSALS[refused.reason])
        return None


@require_http_methods(["GET", "POST"])
def activate_start(request):
    form = IdentifyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        check = _check(request, form)
        if check is not None:
            if check.person.space_state == services.S.ACTIVATED:
                form.add_error(
                    None,
                    "Votre espace santé est déjà activé : connectez-vous avec vos identifiants.",
                )
            elif check.person.space_state == services.S.SUSPENDED:
                form.add_error(
                    None,
                    "Votre espace santé est suspendu. Contactez l'assistance pour en savoir plus.",
                )
            else:
                request.session[SESSION_KEY] = {
                    "person": str(check.person.pk),
                    "code": check.code_id,
                    "until": (timezone.now() + timedelta(seconds=STEP_SECONDS)).isoformat(),
                }
                return redirect("enrollment:activate_account")
    return render(
        request,
        "enrollment/activate_start.html",
        {"form": form, "page_title": "Activer mon espace santé"},
    )


@require_http_methods(["GET", "POST"])
def activate_account(request):
    step = request.session.get(SESSION_KEY)
    if not step or timezone.datetime.fromisoformat(step["until"]) < timezone.now():
        request.session.pop(SESSION_KEY, None)
        messages.warning(request, "Recommencez en saisissant votre code provisoire.")
        return redirect("enrollment:activate")
    person = Person.objects.get(pk=step["person"])
    form = AccountForm(request.POST or None, initial={"email": person.email})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        check = services.CodeCheck(person=person, code_id=step["code"], beneficiary=None)
        try:
            services.activate(
                check,
                email=data["email"],
                password=data["password1"],
                otp_channel=data["otp_channel"],
                mobile_phone=data["mobile_phone"],
            )
        except services.EmailTaken:
            form.add_error("email", "Cette adresse est déjà celle d'un autre compte.")
        except (CodeRefused, TransitionRefused):
            request.session.pop(SESSION_KEY, None)
            messages.error(request, REFUSALS[CodeRefused.USED])
            return redirect("enrollment:activate")
        else:
            request.session.pop(SESSION_KEY, None)
            messages.success(
                request,
                "Votre espace santé est activé. Connectez-vous : un code vous sera envoyé à "
                "chaque connexion.",
            )
            return redirect("account_login")
    return render(
        request,
        "enrollment/activate_account.html",
        {"form": form, "person": person, "page_title": "Activer mon espace santé"},
    )


@require_http_methods(["GET", "POST"])
def object_start(request):
    form = IdentifyForm(request.POST or None)
    confirm = ConfirmObjectionForm(request.POST or None)
    if request.method == "POST" and form.is_valid() & confirm.is_valid():
        check = _check(request, form)
        if check is not None:
            try:
                record = services.object_to_creation(check)
            except TransitionRefused:
                form.add_error(
                    None,
                    "Votre espace santé est déjà activé : il n'est plus possible de s'opposer à "
                    "sa création. Vous pouvez le fermer à tout moment depuis Paramètres.",
                )
            except CodeRefused as refused:
                form.add_error(None, REFUSALS[refused.reason])
            else:
                request.session[RECEIPT_KEY] = record.pk
                return redirect("enrollment:objection_done")
    return render(
        request,
        "enrollment/object_start.html",
        {"form": form, "confirm": confirm, "page_title": "Je m'oppose à la création"},
    )


def objection_done(request):
    transition_id = request.session.get(RECEIPT_KEY)
    if not transition_id:
        return redirect("enrollment:object")
    from .models import SpaceTransition

    record = SpaceTransition.objects.filter(pk=transition_id).first()
    return render(
        request,
        "enrollment/objection_done.html",
        {"record": record, "page_title": "Opposition enregistrée"},
    )


def objection_receipt(request):
    transition_id = request.session.get(RECEIPT_KEY)
    if not transition_id:
        raise Http404
    pdf = services.objection_receipt_pdf(transition_id)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = 'attachment; filename="recepisse-opposition.pdf"'
    return response


@require_http_methods(["GET", "POST"])
def new_code(request):
    form = NewCodeForm(request.POST or None)
    sent = False
    if request.method == "POST" and form.is_valid():
        if _over_limit(request):
            form.add_error(None, TOO_MANY)
        else:
            services.request_new_code(form.cleaned_data["nir"], form.cleaned_data["card_serial"])
            sent = True  # the same answer whether the person is known or not
    return render(
        request,
        "enrollment/new_code.html",
        {"form": form, "sent": sent, "page_title": "Recevoir un nouveau code"},
    )


# --- Closing from Paramètres (signed in) -------------------------------------------

CLOSE_KEY = "enrollment_closing"
CLOSE_CODE_SECONDS = 10 * 60
CLOSE_CODE_ATTEMPTS = services.CLOSING_CODE_ATTEMPTS


def _own_person(request):
    person = getattr(request.user, "person", None)
    if person is None or not person.has_space or person.space_state == services.S.CLOSED:
        raise Http404
    return person


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def close(request):
    """Step 1: the consequences, the choice (archive or delete), a code sent by email."""
    person = _own_person(request)
    form = CloseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            digest = services.send_closing_code(person)
        except Exception:  # noqa: BLE001 (SMTP down: say so, change nothing)
            form.add_error(None, "Le code n'a pas pu être envoyé. Réessayez dans quelques minutes.")
        else:
            request.session[CLOSE_KEY] = {
                "digest": digest,
                "delete": form.cleaned_data["mode"] == "delete",
                "until": (timezone.now() + timedelta(seconds=CLOSE_CODE_SECONDS)).isoformat(),
                "attempts": 0,
            }
            return redirect("enrollment:close_confirm")
    return render(
        request,
        "enrollment/close.html",
        {"form": form, "person": person, "page_title": "Fermer mon espace santé"},
    )


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def close_confirm(request):
    """Step 2: the code from the email; then the space is closed and the session ends."""
    person = _own_person(request)
    pending = request.session.get(CLOSE_KEY)
    if not pending or timezone.datetime.fromisoformat(pending["until"]) < timezone.now():
        request.session.pop(CLOSE_KEY, None)
        messages.warning(request, "Le code a expiré : recommencez.")
        return redirect("enrollment:close")
    form = CloseCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            matches = services.closing_code_matches(
                person, pending["digest"], form.cleaned_data["code"]
            )
        except services.ClosingCodeLocked:
            matches, pending["attempts"] = False, CLOSE_CODE_ATTEMPTS
        if matches:
            services.close_space(person, actor=request.user, delete_now=pending["delete"])
            logout(request)
            request.session["enrollment_closed"] = pending["delete"]
            return redirect("enrollment:closed")
        pending["attempts"] += 1
        if pending["attempts"] >= CLOSE_CODE_ATTEMPTS:
            request.session.pop(CLOSE_KEY, None)
            messages.error(request, "Trop de codes erronés : votre espace n'est pas fermé.")
            return redirect("enrollment:close")
        request.session[CLOSE_KEY] = pending
        form.add_error("code", "Code incorrect.")
    return render(
        request,
        "enrollment/close_confirm.html",
        {"form": form, "delete": pending["delete"], "page_title": "Confirmer la fermeture"},
    )


def closed(request):
    if "enrollment_closed" not in request.session:
        return redirect("web:home")
    return render(
        request,
        "enrollment/closed.html",
        {"delete": request.session["enrollment_closed"], "page_title": "Espace fermé"},
    )
