// Typeset every formula that pymdownx.arithmatex (generic mode) left in the page: inline \( … \) in
// span.arithmatex, display \[ … \] in div.arithmatex. KaTeX is served from the site itself (assets/katex/).
// A formula KaTeX cannot parse stays visible as source and is reported on the console, where the browser
// check (make docs-check) fails on it.
(function () {
  "use strict";

  function strip(tex) {
    tex = tex.trim();
    if ((tex.startsWith("\\(") && tex.endsWith("\\)")) || (tex.startsWith("\\[") && tex.endsWith("\\]"))) {
      return tex.slice(2, -2);
    }
    return tex;
  }

  function typeset(root) {
    root.querySelectorAll(".arithmatex").forEach(function (el) {
      if (el.dataset.typeset) {
        return;
      }
      var source = el.textContent;
      var display = el.tagName === "DIV";
      try {
        katex.render(strip(source), el, { displayMode: display, throwOnError: true, strict: "ignore" });
        el.dataset.typeset = "1";
      } catch (err) {
        el.classList.add("math-error");
        console.error("KaTeX could not typeset " + JSON.stringify(source) + ": " + err.message);
      }
    });
  }

  if (typeof document$ !== "undefined") {
    document$.subscribe(function () {
      typeset(document.body);
    });
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () {
      typeset(document.body);
    });
  } else {
    typeset(document.body);
  }
})();
