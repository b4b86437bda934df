// The intake page's two search boxes, usable from the keyboard alone (ARIA combobox with
// a list popup): type to search, ArrowDown/ArrowUp to move, Enter to pick, Escape to close.
// Picking a patient moves focus to "Who can we thank?"; picking a source moves it to Save.
(function () {
  "use strict";
  const form = document.getElementById("intake");
  if (!form) return;

  function setField(name, value) {
    const input = form.elements[name];
    if (input) input.value = value;
  }

  function show(el, visible) {
    if (el) el.hidden = !visible;
  }

  const modes = {
    patient: {
      pick(opt) {
        setField("patient_mode", "existing");
        setField("patient", opt.dataset.id);
        show(form.querySelector('[data-new="patient"]'), false);
        return opt.dataset.label;
      },
      new(opt) {
        setField("patient_mode", "new");
        setField("patient", "");
        const words = (opt.dataset.label || "").trim().split(/[\s,]+/).filter(Boolean);
        // "Smith, Ada" and "smith ada" are last-name first; "Ada Smith" is not.
        const lastFirst = /,/.test(opt.dataset.label || "");
        if (words.length >= 2) {
          setField("new_first_name", lastFirst ? words.slice(1).join(" ") : words[0]);
          setField("new_last_name", lastFirst ? words[0] : words.slice(1).join(" "));
        } else if (words.length === 1) {
          setField("new_last_name", words[0]);
        }
        show(form.querySelector('[data-new="patient"]'), true);
        return null;
      },
      next() {
        return form.elements["new_first_name"] && form.elements["patient_mode"].value === "new"
          ? form.elements["new_first_name"] : form.elements["source_query"];
      },
      clear() {
        setField("patient", "");
        setField("patient_mode", "existing");
        show(form.querySelector('[data-new="patient"]'), false);
      },
    },
    source: {
      pick(opt) {
        setField("source_mode", "existing");
        setField("source_partner", opt.dataset.id);
        setField("source_contact", opt.dataset.contact || "");
        show(form.querySelector('[data-new="source"]'), false);
        show(form.querySelector("[data-unknown-box]"), false);
        return opt.dataset.label;
      },
      new(opt) {
        setField("source_mode", "new");
        setField("source_partner", "");
        setField("source_contact", "");
        setField("new_source_name", opt.dataset.label || "");
        show(form.querySelector('[data-new="source"]'), true);
        show(form.querySelector("[data-unknown-box]"), false);
        return null;
      },
      unknown(opt) {
        setField("source_mode", "unknown");
        setField("source_partner", "");
        setField("source_contact", "");
        if (opt.dataset.label) setField("source_text", opt.dataset.label);
        show(form.querySelector('[data-new="source"]'), false);
        show(form.querySelector("[data-unknown-box]"), true);
        return "Don't know: we'll ask again";
      },
      next() {
        const mode = form.elements["source_mode"].value;
        if (mode === "new") return form.elements["new_source_kind"];
        return document.getElementById("save");
      },
      clear() {
        setField("source_mode", "existing");
        setField("source_partner", "");
        setField("source_contact", "");
        show(form.querySelector('[data-new="source"]'), false);
        show(form.querySelector("[data-unknown-box]"), false);
      },
    },
  };

  document.querySelectorAll("[data-combo]").forEach(function (box) {
    const kind = box.dataset.combo;
    const mode = modes[kind];
    const input = box.querySelector("[role=combobox]");
    const list = box.querySelector("[role=listbox]");
    const chosen = box.querySelector("[data-chosen]");
    const chosenLabel = box.querySelector("[data-chosen-label]");
    let active = -1;
    let timer = null;
    let seq = 0;

    function options() {
      return Array.from(list.querySelectorAll("[role=option]"));
    }

    function highlight(index) {
      const opts = options();
      opts.forEach(function (o, i) { o.setAttribute("aria-selected", i === index ? "true" : "false"); });
      active = index;
      if (index >= 0 && opts[index]) {
        input.setAttribute("aria-activedescendant", opts[index].id);
        opts[index].scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function close() {
      list.innerHTML = "";
      input.setAttribute("aria-expanded", "false");
      highlight(-1);
    }

    function choose(opt) {
      const label = mode[opt.dataset.action](opt);
      close();
      if (label) {
        chosenLabel.textContent = label;
        show(chosen, true);
      } else {
        show(chosen, false);
      }
      box.classList.remove("field-error");
      const target = mode.next();
      if (target) target.focus();
    }

    async function search() {
      const q = input.value.trim();
      const mine = ++seq;
      if (!q && kind === "patient") { close(); return; }
      const response = await fetch(box.dataset.url + "?q=" + encodeURIComponent(q), {
        headers: { "HX-Request": "true" }, credentials: "same-origin",
      });
      if (!response.ok || mine !== seq) return; // a later keystroke's answer wins
      list.innerHTML = await response.text();
      input.setAttribute("aria-expanded", options().length ? "true" : "false");
      highlight(-1);
    }

    input.addEventListener("input", function () {
      mode.clear();
      show(chosen, false);
      clearTimeout(timer);
      timer = setTimeout(search, 120);
    });

    input.addEventListener("keydown", function (event) {
      const opts = options();
      if (event.key === "ArrowDown") {
        event.preventDefault();
        if (!opts.length) { search(); return; }
        highlight(Math.min(active + 1, opts.length - 1));
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        highlight(Math.max(active - 1, 0));
      } else if (event.key === "Enter") {
        if (opts.length) {
          // Enter never submits half a form from a search box: it picks (the first by default).
          event.preventDefault();
          choose(opts[active >= 0 ? active : 0]);
        } else if (input.value.trim()) {
          event.preventDefault();
          clearTimeout(timer);
          search();
        }
      } else if (event.key === "Escape") {
        close();
      }
    });

    list.addEventListener("mousedown", function (event) {
      const opt = event.target.closest("[role=option]");
      if (opt) { event.preventDefault(); choose(opt); }
    });

    input.addEventListener("blur", function () { setTimeout(close, 150); });

    box.querySelector("[data-clear]").addEventListener("click", function () {
      mode.clear();
      show(chosen, false);
      input.value = "";
      input.focus();
    });
  });

  // The category only means something for businesses and community organizations.
  const kindSelect = form.elements["new_source_kind"];
  const categoryField = form.elements["new_source_category"];
  function syncCategory() {
    const business = ["local_business", "community_org"].includes(kindSelect.value);
    categoryField.closest(".field").hidden = !business;
  }
  if (kindSelect && categoryField) {
    kindSelect.addEventListener("change", syncCategory);
    syncCategory();
  }
})();
