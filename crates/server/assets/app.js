/*
 * Sable CRM — small progressive enhancements for the server-rendered UI.
 * No dependencies; load after htmx.min.js (both may use `defer`).
 *
 *  1. CSRF token header (X-CSRF-Token) on every htmx request
 *  2. "/" focuses the global search box
 *  3. [data-confirm] on buttons / links / forms asks before going on
 *  4. Row selection in table.list (select-all, .bulk-bar, .selected-count)
 *  5. Type-ahead reference picker (div.typeahead)
 *
 * Everything is delegated from `document`, so it also works for content
 * that htmx swaps in later. Missing elements are simply ignored.
 */
(function () {
  "use strict";

  var doc = document;

  function closest(node, selector) {
    while (node && node.nodeType !== 1) node = node.parentNode;
    return node && node.closest ? node.closest(selector) : null;
  }

  function matches(node, selector) {
    return !!(node && node.nodeType === 1 && node.matches && node.matches(selector));
  }

  /* 1. CSRF ------------------------------------------------------------- */

  function csrfToken() {
    var meta = doc.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") || "" : "";
  }

  doc.addEventListener("htmx:configRequest", function (e) {
    var token = csrfToken();
    if (token && e.detail && e.detail.headers) {
      e.detail.headers["X-CSRF-Token"] = token;
    }
  });

  /* 2. "/" focuses global search ---------------------------------------- */

  function isTyping(el) {
    if (!el || el.nodeType !== 1) return false;
    if (el.isContentEditable) return true;
    var tag = el.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT";
  }

  // Space on an in-place editable value opens it (on keyup, like a button): keep the
  // keydown from scrolling the page.
  doc.addEventListener("keydown", function (e) {
    if (e.key === " " && matches(e.target, "dd.inline-edit")) e.preventDefault();
  });

  doc.addEventListener("keydown", function (e) {
    if (e.key !== "/" || e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.isComposing || e.defaultPrevented || isTyping(e.target)) return;
    var input = doc.querySelector('form.global-search input[type="search"]');
    if (!input) return;
    e.preventDefault();
    input.focus();
    if (input.select) input.select();
  });

  // Keyboard use of in-place editing: the one-field form that opens takes the focus, and
  // the value that replaces it after saving or cancelling gets it back, so a keyboard user
  // is never dropped at the top of the page.
  doc.addEventListener("htmx:load", function (e) {
    var el = e.detail && e.detail.elt;
    if (!el || el.nodeType !== 1) return;
    if (matches(el, "dd.inline-editing")) {
      var input = el.querySelector('input:not([type="hidden"]), select, textarea');
      if (input) input.focus();
    } else if (matches(el, "dd.inline-edit")) {
      var active = doc.activeElement;
      if (!active || active === doc.body) el.focus();
    }
  });

  /* 3. [data-confirm] --------------------------------------------------- */
  // Capture phase on document: runs before htmx's own listeners on the
  // element, and stopImmediatePropagation keeps them from ever firing.

  var CONFIRM_CLICK = 'button[data-confirm], input[type="submit"][data-confirm], ' +
    'input[type="image"][data-confirm], a[data-confirm]';

  doc.addEventListener("click", function (e) {
    var el = closest(e.target, CONFIRM_CLICK);
    if (!el || el.disabled) return;
    if (!window.confirm(el.getAttribute("data-confirm") || "")) {
      e.preventDefault();
      e.stopImmediatePropagation();
    }
  }, true);

  doc.addEventListener("submit", function (e) {
    var form = e.target;
    if (!matches(form, "form[data-confirm]")) return;
    var submitter = e.submitter;
    // Already asked when the submit button itself carries data-confirm.
    if (submitter && submitter.hasAttribute && submitter.hasAttribute("data-confirm")) return;
    if (!window.confirm(form.getAttribute("data-confirm") || "")) {
      e.preventDefault();
      e.stopImmediatePropagation();
    }
  }, true);

  /* 4. Row selection ---------------------------------------------------- */

  // Nearest ancestor of `el` that contains a .bulk-bar (usually the <form>
  // wrapping the bulk bar and the table), or null.
  function selectionScope(el) {
    var node = el && el.parentElement;
    while (node) {
      if (node.querySelector(".bulk-bar")) return node;
      if (node === doc.body) break;
      node = node.parentElement;
    }
    return null;
  }

  function updateSelection(table) {
    if (!table) return;
    var boxes = table.querySelectorAll("input.row-select");
    var checked = 0;
    for (var i = 0; i < boxes.length; i++) if (boxes[i].checked) checked++;

    var all = table.querySelectorAll("input.select-all");
    for (var j = 0; j < all.length; j++) {
      all[j].checked = boxes.length > 0 && checked === boxes.length;
      all[j].indeterminate = checked > 0 && checked < boxes.length;
    }

    var scope = selectionScope(table);
    if (!scope) return;
    var bars = scope.querySelectorAll(".bulk-bar");
    for (var k = 0; k < bars.length; k++) bars[k].hidden = checked === 0;
    var counts = scope.querySelectorAll(".selected-count");
    for (var m = 0; m < counts.length; m++) counts[m].textContent = String(checked);
  }

  function tableFor(el) {
    var table = closest(el, "table.list");
    if (table) return table;
    var scope = selectionScope(el);
    return scope ? scope.querySelector("table.list") : null;
  }

  doc.addEventListener("change", function (e) {
    var t = e.target;
    if (matches(t, "input.select-all")) {
      var table = tableFor(t);
      if (!table) return;
      var boxes = table.querySelectorAll("input.row-select");
      for (var i = 0; i < boxes.length; i++) {
        if (!boxes[i].disabled) boxes[i].checked = t.checked;
      }
      updateSelection(table);
    } else if (matches(t, "input.row-select")) {
      updateSelection(closest(t, "table.list"));
    }
  });

  // Mass edit: show and send only the value widget of the chosen field.
  function showBulkValue(select) {
    var scope = selectionScope(select) || doc;
    var widgets = scope.querySelectorAll(".bulk-value");
    for (var i = 0; i < widgets.length; i++) {
      var on = widgets[i].getAttribute("data-field") === select.value;
      widgets[i].hidden = !on;
      var inputs = widgets[i].querySelectorAll("input, select");
      for (var j = 0; j < inputs.length; j++) inputs[j].disabled = !on;
    }
  }

  doc.addEventListener("change", function (e) {
    if (matches(e.target, "select#bulk-field")) showBulkValue(e.target);
  });

  /* 5. Type-ahead reference picker -------------------------------------- */
  //  <div class="typeahead">
  //    <input type="hidden" name="account_id" value="7">
  //    <input class="typeahead-input" value="阿里巴巴"
  //           data-search-url="/ui/lookup/Accounts?q=" [data-empty-text="无匹配"]>
  //    <ul class="typeahead-results"></ul>
  //  </div>
  // The endpoint returns JSON [{"id": 1, "label": "…"[, "module": "客户"]}].

  var DEBOUNCE_MS = 200;
  var MIN_CHARS = 1;
  var uid = 0;

  function typeahead(el, lazy) {
    var box = closest(el, "div.typeahead, .typeahead");
    if (!box) return null;
    if (box._sableTypeahead) return box._sableTypeahead;
    var input = box.querySelector("input.typeahead-input");
    var list = box.querySelector("ul.typeahead-results, .typeahead-results");
    if (!input || !list) return null;

    uid += 1;
    if (!list.id) list.id = "typeahead-list-" + uid;
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", list.id);
    input.setAttribute("autocomplete", "off");
    list.setAttribute("role", "listbox");
    list.hidden = true;

    var st = {
      box: box,
      input: input,
      list: list,
      hidden: box.querySelector('input[type="hidden"]'),
      // The label that belongs to the current hidden id. When set up lazily
      // (from an input event) the value is already changed: use the HTML one.
      label: lazy ? input.defaultValue : input.value,
      items: [],
      active: -1,
      timer: 0,
      seq: 0,
      ctrl: null
    };
    box._sableTypeahead = st;
    return st;
  }

  function cancelPending(st) {
    clearTimeout(st.timer);
    st.timer = 0;
    st.seq += 1;                       // late responses are ignored
    if (st.ctrl) {
      try { st.ctrl.abort(); } catch (err) { /* ignore */ }
      st.ctrl = null;
    }
  }

  function openList(st) {
    st.list.hidden = false;
    st.input.setAttribute("aria-expanded", "true");
  }

  function closeList(st) {
    st.list.hidden = true;
    st.list.textContent = "";
    st.items = [];
    st.active = -1;
    st.input.setAttribute("aria-expanded", "false");
    st.input.removeAttribute("aria-activedescendant");
  }

  function setActive(st, index) {
    var options = st.list.querySelectorAll('li[role="option"]:not([aria-disabled="true"])');
    if (!options.length) return;
    if (index < 0) index = options.length - 1;
    if (index >= options.length) index = 0;
    st.active = index;
    for (var i = 0; i < options.length; i++) {
      var on = i === index;
      options[i].classList.toggle("active", on);
      options[i].setAttribute("aria-selected", on ? "true" : "false");
    }
    st.input.setAttribute("aria-activedescendant", options[index].id);
    if (options[index].scrollIntoView) options[index].scrollIntoView({ block: "nearest" });
  }

  function setHidden(st, value) {
    if (!st.hidden || st.hidden.value === value) return;
    st.hidden.value = value;
    st.hidden.dispatchEvent(new Event("change", { bubbles: true }));
  }

  function labelOf(item) {
    if (item == null) return "";
    var label = item.label != null ? item.label : item.id;
    return label == null ? "" : String(label);
  }

  function render(st, data) {
    st.list.textContent = "";
    st.items = Array.isArray(data) ? data.filter(function (x) { return x && x.id != null; }) : [];
    st.active = -1;
    st.input.removeAttribute("aria-activedescendant");

    if (!st.items.length) {
      var emptyText = st.input.getAttribute("data-empty-text");
      if (!emptyText) { closeList(st); return; }
      var empty = doc.createElement("li");
      empty.className = "empty";
      empty.setAttribute("role", "option");
      empty.setAttribute("aria-disabled", "true");
      empty.textContent = emptyText;
      st.list.appendChild(empty);
      openList(st);
      return;
    }

    for (var i = 0; i < st.items.length; i++) {
      var li = doc.createElement("li");
      li.id = st.list.id + "-opt-" + i;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", "false");
      li.setAttribute("data-index", String(i));
      li.textContent = labelOf(st.items[i]);   // never innerHTML with data
      if (st.items[i].module) {
        // Several target modules: say which one each hit belongs to.
        var tag = doc.createElement("span");
        tag.className = "typeahead-module";
        tag.textContent = " · " + String(st.items[i].module);
        li.appendChild(tag);
      }
      st.list.appendChild(li);
    }
    openList(st);
    setActive(st, 0);
  }

  function search(st) {
    var base = st.input.getAttribute("data-search-url");
    var q = st.input.value.trim();
    if (!base || q.length < MIN_CHARS) { closeList(st); return; }

    cancelPending(st);
    var seq = st.seq;
    var ctrl = typeof AbortController === "function" ? new AbortController() : null;
    st.ctrl = ctrl;
    var headers = { "Accept": "application/json" };
    var token = csrfToken();
    if (token) headers["X-CSRF-Token"] = token;

    fetch(base + encodeURIComponent(q), {
      credentials: "same-origin",
      headers: headers,
      signal: ctrl ? ctrl.signal : undefined
    }).then(function (res) {
      if (!res.ok) throw new Error("HTTP " + res.status);
      return res.json();
    }).then(function (data) {
      if (seq !== st.seq || doc.activeElement !== st.input) return;
      st.ctrl = null;
      render(st, data);
    }).catch(function () {
      if (seq === st.seq) closeList(st);
    });
  }

  function schedule(st) {
    cancelPending(st);
    if (st.input.value.trim() === "") {
      // Clearing the visible text clears the reference.
      st.label = "";
      setHidden(st, "");
      closeList(st);
      return;
    }
    st.timer = setTimeout(function () { search(st); }, DEBOUNCE_MS);
  }

  function pick(st, index) {
    var item = st.items[index];
    if (!item) return;
    var label = labelOf(item);
    cancelPending(st);
    st.input.value = label;
    st.label = label;
    setHidden(st, String(item.id));
    closeList(st);
  }

  // Text left in the box without picking goes back to the picked label, so
  // what the user sees is always what gets saved.
  function settle(st) {
    cancelPending(st);
    closeList(st);
    if (st.input.value.trim() === "") {
      st.input.value = "";
      st.label = "";
      setHidden(st, "");
    } else if (st.input.value !== st.label) {
      st.input.value = st.label;
    }
  }

  doc.addEventListener("input", function (e) {
    if (!matches(e.target, "input.typeahead-input")) return;
    var st = typeahead(e.target, true);
    if (!st) return;
    if (e.isComposing) return;         // wait for the IME (pinyin) to finish
    schedule(st);
  });

  doc.addEventListener("compositionend", function (e) {
    if (!matches(e.target, "input.typeahead-input")) return;
    var st = typeahead(e.target, true);
    if (st) schedule(st);
  });

  doc.addEventListener("keydown", function (e) {
    if (!matches(e.target, "input.typeahead-input")) return;
    if (e.isComposing || e.keyCode === 229) return;   // IME is handling the key
    var st = typeahead(e.target, true);
    if (!st) return;
    var isOpen = !st.list.hidden && st.items.length > 0;

    switch (e.key) {
      case "ArrowDown":
      case "Down":
        e.preventDefault();
        if (isOpen) setActive(st, st.active + 1);
        else if (st.input.value.trim() !== "") { cancelPending(st); search(st); }
        break;
      case "ArrowUp":
      case "Up":
        if (isOpen) { e.preventDefault(); setActive(st, st.active - 1); }
        break;
      case "Enter":
        if (isOpen) {
          e.preventDefault();           // pick, don't submit the form
          pick(st, st.active >= 0 ? st.active : 0);
        }
        break;
      case "Escape":
      case "Esc":
        if (!st.list.hidden) {
          e.preventDefault();
          e.stopPropagation();
          cancelPending(st);
          closeList(st);
        } else if (st.input.value !== st.label) {
          e.preventDefault();
          settle(st);
        }
        break;
      default:
        break;
    }
  });

  doc.addEventListener("focusout", function (e) {
    if (!matches(e.target, "input.typeahead-input")) return;
    var box = closest(e.target, ".typeahead");
    var st = box ? box._sableTypeahead : null;
    if (st) settle(st);
  });

  // Keep focus in the input while the pointer is on the list, so the
  // click can pick before blur closes it.
  doc.addEventListener("mousedown", function (e) {
    if (closest(e.target, ".typeahead .typeahead-results")) e.preventDefault();
  });

  doc.addEventListener("click", function (e) {
    var li = closest(e.target, '.typeahead-results li[data-index]');
    if (!li) return;
    var st = typeahead(li, true);
    if (!st) return;
    e.preventDefault();
    pick(st, parseInt(li.getAttribute("data-index"), 10));
    st.input.focus();
  });

  /* Init (page load and every htmx swap) -------------------------------- */

  function init(root) {
    if (!root || !root.querySelectorAll) return;
    var tables = root.querySelectorAll("table.list");
    if (matches(root, "table.list")) updateSelection(root);
    for (var i = 0; i < tables.length; i++) updateSelection(tables[i]);

    var boxes = root.querySelectorAll(".typeahead");
    if (matches(root, ".typeahead")) typeahead(root, false);
    for (var j = 0; j < boxes.length; j++) typeahead(boxes[j], false);
  }

  if (doc.readyState === "loading") {
    doc.addEventListener("DOMContentLoaded", function () { init(doc.body); });
  } else {
    init(doc.body);
  }
  doc.addEventListener("htmx:load", function (e) { init(e.target); });
  // Back/forward cache and form-state restore can re-check boxes.
  window.addEventListener("pageshow", function () { init(doc.body); });
})();
