// Sends the upload form with a visible progress bar. Without JavaScript the
// form posts normally; with it, the same view answers in JSON.
(function () {
  "use strict";
  var form = document.querySelector("[data-upload-form]");
  if (!form || !window.XMLHttpRequest || !window.FormData) { return; }
  var box = form.querySelector("[data-upload-progress]");
  var bar = box.querySelector("progress");
  var status = form.querySelector("[data-upload-status]");
  var errors = form.querySelector("[data-upload-errors]");
  var button = form.querySelector("button[type=submit]");

  function showErrors(messages) {
    errors.textContent = "";
    messages.forEach(function (text) {
      var p = document.createElement("p");
      p.textContent = text;
      errors.appendChild(p);
    });
    errors.hidden = false;
    errors.setAttribute("tabindex", "-1");
    errors.focus();
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var request = new XMLHttpRequest();
    request.open("POST", form.action || window.location.href);
    request.setRequestHeader("Accept", "application/json");
    request.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) {
        var percent = Math.round((e.loaded / e.total) * 100);
        bar.value = percent;
        status.textContent = percent < 100 ? percent + " % envoyés" : "Vérification et chiffrement…";
      }
    });
    request.addEventListener("load", function () {
      var answer = {};
      try { answer = JSON.parse(request.responseText); } catch (ignored) { answer = {}; }
      if (request.status === 201 && answer.redirect) {
        status.textContent = "Document ajouté.";
        window.location.assign(answer.redirect);
        return;
      }
      box.hidden = true;
      button.disabled = false;
      if (answer.once) { form.querySelector("[name=once]").value = answer.once; }
      showErrors(answer.errors || ["L'envoi a échoué. Vérifiez votre connexion puis réessayez."]);
    });
    request.addEventListener("error", function () {
      box.hidden = true;
      button.disabled = false;
      showErrors(["L'envoi a été interrompu. Vérifiez votre connexion puis réessayez : rien n'a été enregistré."]);
    });
    errors.hidden = true;
    box.hidden = false;
    bar.value = 0;
    status.textContent = "0 % envoyés";
    button.disabled = true;
    request.send(new FormData(form));
  });
})();
