/* The admin's autocomplete boxes (parcels.admin.ReadableAutocompleteSelect and -Multiple),
 * named by their field's label for a screen reader.
 *
 * select2 names its box by the chosen value alone (aria-labelledby its own rendered text): a
 * screen reader tabbing to a lease's holding said "Holding 2, combo box" and not "Holding",
 * and a many-valued box (parcels, lessees) and its search field had no name at all. The
 * field's <label for> names only the <select> select2 hides. Each box is labelled by that
 * label and then its value; on a row added to an inline too. Listed after Django's
 * autocomplete.js (the widget's media), so its boxes exist when this runs.
 */
(function () {
  "use strict";

  var $ = django.jQuery;

  function nameByLabel(select) {
    var box = $(select).data("select2");
    var label = select.id && document.querySelector('label[for="' + select.id + '"]');
    if (!box || !label) {
      return;
    }
    label.id = label.id || select.id + "_label";
    var value = box.$selection.attr("aria-labelledby"); // a single box's chosen value
    var names = value ? label.id + " " + value : label.id;
    box.$selection.attr("aria-labelledby", names);
    // The value is a read-only "textbox" of select2's own, unnamed while nothing is chosen.
    box.$selection.find(".select2-selection__rendered[role=textbox]").attr("aria-labelledby", names);
    box.$selection.find(".select2-search__field").attr("aria-labelledby", label.id);
  }

  function nameAllIn(root) {
    $(root).find(".admin-autocomplete").each(function () {
      nameByLabel(this);
    });
  }

  $(function () {
    nameAllIn(document);
  });
  document.addEventListener("formset:added", function (event) {
    nameAllIn(event.target);
  });
})();
