// The pipeline board: drag a card onto another stage's column to move it. The move is
// the card's own form (the same one that works without JavaScript), so the record
// service validates it and writes the stage history. A lost stage asks for the reason.
(function () {
  "use strict";
  function setup() {
    var board = document.querySelector(".board");
    if (!board) { return; }
    var dragged = null;
    board.addEventListener("dragstart", function (e) {
      var card = e.target.closest ? e.target.closest(".board-card") : null;
      if (!card) { return; }
      dragged = card;
      card.classList.add("dragging");
      e.dataTransfer.effectAllowed = "move";
      e.dataTransfer.setData("text/plain", card.getAttribute("data-id"));
    });
    board.addEventListener("dragend", function () {
      if (dragged) { dragged.classList.remove("dragging"); }
      dragged = null;
    });
    board.querySelectorAll(".board-column").forEach(function (col) {
      col.addEventListener("dragover", function (e) {
        e.preventDefault();
        e.dataTransfer.dropEffect = "move";
        col.classList.add("drop-target");
      });
      col.addEventListener("dragleave", function () { col.classList.remove("drop-target"); });
      col.addEventListener("drop", function (e) {
        e.preventDefault();
        col.classList.remove("drop-target");
        var id = e.dataTransfer.getData("text/plain");
        var card = dragged || document.getElementById("card-" + id);
        if (!card) { return; }
        moveCard(card, col, board);
      });
    });
  }
  function moveCard(card, col, board) {
    var form = card.querySelector("form.card-move");
    var select = form.querySelector("select[name=stage]");
    var stage = col.getAttribute("data-stage");
    if (select.value === stage) { return; }
    if (col.getAttribute("data-kind") === "lost") {
      var reason = window.prompt(board.getAttribute("data-lost-prompt") || "Reason?", "");
      if (reason === null || reason.trim() === "") { return; }
      form.querySelector("input[name=lost_reason]").value = reason;
    }
    select.value = stage;
    col.querySelector(".board-cards").appendChild(card);
    form.submit();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setup);
  } else {
    setup();
  }
})();
