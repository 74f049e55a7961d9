/* derlink console: the little the pages need beyond HTML forms. */
"use strict";
document.addEventListener("change", function (event) {
  // "Select every instance on this page" in the hospital.
  var box = event.target;
  if (!(box instanceof HTMLInputElement) || !box.dataset.selectAll) return;
  var form = box.closest("form");
  if (!form) return;
  form.querySelectorAll('input[type="checkbox"][name="' + box.dataset.selectAll + '"]')
    .forEach(function (item) { item.checked = box.checked; });
});
