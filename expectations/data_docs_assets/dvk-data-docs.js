/* The little behaviour the gate's Data Docs need, without jQuery or Bootstrap's scripts.
 *
 * dvk.gate.data_docs removes GX's CDN scripts (and the inline scripts that call them) and links
 * this file instead (static/dvk/dvk-data-docs.js in the site):
 * - "Show more info..." / notes toggles (Bootstrap's data-toggle="collapse");
 * - the "Show All" / "Failed Only" filter of a validation page (and its buttons' pressed look);
 * - the notes of each expectation (the next step of the check) shown open.
 * The tables GX fills with bootstrap-table are rendered as plain HTML when the site is built.
 */
(function () {
  "use strict";

  function all(selector, root) {
    return Array.prototype.slice.call((root || document).querySelectorAll(selector));
  }

  document.addEventListener("click", function (event) {
    var toggle = event.target.closest ? event.target.closest('[data-toggle="collapse"]') : null;
    if (!toggle) {
      return;
    }
    var target = toggle.getAttribute("data-target") || toggle.getAttribute("href") || "";
    var element = target.charAt(0) === "#" ? document.getElementById(target.slice(1)) : null;
    if (element) {
      event.preventDefault();
      element.classList.toggle("show");
      toggle.setAttribute("aria-expanded", element.classList.contains("show") ? "true" : "false");
    }
  });

  function setSucceededVisible(visible) {
    var display = visible ? "" : "none";
    all(".hide-succeeded-validation-target-child").forEach(function (el) {
      if (el.parentElement) {
        el.parentElement.style.display = display;
      }
    });
    all(".hide-succeeded-validation-target").forEach(function (el) {
      el.style.display = display;
    });
    all(".hide-succeeded-validations-column-section-target-child").forEach(function (el) {
      var section = el.parentElement && el.parentElement.parentElement;
      if (!section) {
        return;
      }
      section.style.display = display;
      if (section.id) {
        all('a[href$="' + section.id + '"]').forEach(function (link) {
          link.style.display = display;
        });
      }
    });
  }

  window.showAllValidations = function () { setSucceededVisible(true); };
  window.hideSucceededValidations = function () { setSucceededVisible(false); };

  // the "Show All" / "Failed Only" buttons: the clicked one looks pressed
  document.addEventListener("click", function (event) {
    var label = event.target.closest ? event.target.closest(".btn-group-toggle .btn") : null;
    if (!label) {
      return;
    }
    all(".btn", label.parentElement).forEach(function (btn) {
      btn.classList.toggle("active", btn === label);
    });
  });

  document.addEventListener("DOMContentLoaded", function () {
    all(".collapse h6").forEach(function (el) {
      if (el.textContent.trim() === "Notes:" && el.closest) {
        el.closest(".collapse").classList.add("show");
      }
    });
  });
})();
