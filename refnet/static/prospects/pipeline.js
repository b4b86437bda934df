// The pipeline board: drag a card to another column to move it. Dropping fills in the
// card's own "Move to" form and submits it, so a drag and the keyboard path are the same
// request. Listeners sit on the document, so they survive htmx swapping the board.
(function () {
  "use strict";
  var dragged = null;

  function column(el) { return el && el.closest ? el.closest(".pcards") : null; }

  document.addEventListener("dragstart", function (e) {
    var card = e.target.closest && e.target.closest(".pcard");
    if (!card) return;
    dragged = card;
    card.classList.add("dragging");
    e.dataTransfer.effectAllowed = "move";
    e.dataTransfer.setData("text/plain", card.dataset.partner);
  });

  document.addEventListener("dragend", function () {
    if (dragged) dragged.classList.remove("dragging");
    document.querySelectorAll(".pcards.drop-target").forEach(function (c) {
      c.classList.remove("drop-target");
    });
    dragged = null;
  });

  document.addEventListener("dragover", function (e) {
    var col = column(e.target);
    if (!col || !dragged || col.dataset.stage === dragged.dataset.stage) return;
    e.preventDefault();
    col.classList.add("drop-target");
  });

  document.addEventListener("dragleave", function (e) {
    var col = column(e.target);
    if (col && !col.contains(e.relatedTarget)) col.classList.remove("drop-target");
  });

  document.addEventListener("drop", function (e) {
    var col = column(e.target);
    if (!col || !dragged || col.dataset.stage === dragged.dataset.stage) return;
    e.preventDefault();
    var form = dragged.querySelector("form.pcard-move");
    form.querySelector("select[name=to_stage]").value = col.dataset.stage;
    form.requestSubmit();
  });

  // After a move, keep the keyboard where it was: on the moved card's "Move to" list.
  document.addEventListener("htmx:afterSwap", function (e) {
    var board = document.getElementById("board");
    if (!board || !board.dataset.moved) return;
    var card = document.getElementById("pcard-" + board.dataset.moved);
    if (!card) return;
    card.classList.add("just-moved");
    var select = card.querySelector("select");
    if (select) select.focus();
  });
})();
