/* Sign-up forms: fill-time stamp and self-hosted ALTCHA proof-of-work (no CDN, no cookies).
 *
 * Wires two kinds of forms:
 *  - the hosted page's form (data-altcha-challenge="/api/v1/subscriptions/challenge");
 *  - the embeddable snippet on the coalition's website (data-newsletter-embed), whose
 *    challenge URL is derived from the form's action (the newsletter service's origin).
 * Before the form is sent, it fetches a challenge, finds n such that
 * SHA-256(salt + n) == challenge (the ALTCHA v1 scheme the server verifies with the
 * `altcha` package), and adds the solution and the signed form stamp as hidden fields.
 * Without JavaScript the forms still post; only the proof-of-work (if enabled) is missing.
 */
(function () {
  "use strict";

  function hex(buffer) {
    return Array.prototype.map.call(new Uint8Array(buffer), function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  async function solve(challenge) {
    var encoder = new TextEncoder();
    for (var n = 0; n <= challenge.maxNumber; n++) {
      var digest = await crypto.subtle.digest("SHA-256", encoder.encode(challenge.salt + n));
      if (hex(digest) === challenge.challenge) {
        return btoa(JSON.stringify({
          algorithm: challenge.algorithm, challenge: challenge.challenge, number: n,
          salt: challenge.salt, signature: challenge.signature
        }));
      }
    }
    throw new Error("no solution");
  }

  function hidden(form, name, value) {
    var input = form.querySelector('input[name="' + name + '"]');
    if (!input) {
      input = document.createElement("input");
      input.type = "hidden";
      input.name = name;
      form.appendChild(input);
    }
    input.value = value;
  }

  function challengeUrl(form) {
    if (form.dataset.altchaChallenge) return form.dataset.altchaChallenge;
    return new URL(form.action).origin + "/api/v1/subscriptions/challenge";
  }

  function wire(form) {
    var ready = fetch(challengeUrl(form), { credentials: "omit" }).then(function (r) {
      return r.json();
    });
    ready.then(function (data) { hidden(form, "form_stamp", data.form_stamp); })
      .catch(function () { /* the form still posts; the server decides */ });
    var solving = false;
    form.addEventListener("submit", function (event) {
      if (form.dataset.solved === "yes") return;
      event.preventDefault();
      if (solving) return;
      solving = true;
      var button = form.querySelector("button[type=submit], button:not([type])");
      if (button) button.disabled = true;
      ready.then(function (data) {
        return data.altcha ? solve(data.altcha) : "";
      }).then(function (payload) {
        if (payload) hidden(form, "altcha", payload);
      }).catch(function () { /* submit anyway: the server answers with a clear message */ })
        .then(function () {
          form.dataset.solved = "yes";
          if (button) button.disabled = false;
          form.submit();
        });
    });
  }

  function start() {
    var forms = document.querySelectorAll("form[data-altcha-challenge], form[data-newsletter-embed]");
    Array.prototype.forEach.call(forms, wire);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
}());
