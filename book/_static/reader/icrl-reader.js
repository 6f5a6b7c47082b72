/* The book's reader fixes (loaded on every page by book/_ext/icrl_book.py).
 *
 * 1. Navigation toggles. pydata-sphinx-theme 0.17 and sphinx-book-theme 1.3 bind their sidebar handlers to the
 *    FIRST `.primary-toggle` / `.secondary-toggle` in the page: the buttons of pydata's header, which the book
 *    theme hides. The buttons a reader sees (in the article header) do nothing: on a phone neither the chapter
 *    list nor "on this page" opens, on a desktop the hamburger does not collapse the sidebar. Every other toggle
 *    forwards its click to the first one, whose handlers do the right thing for the window size (modal on a
 *    phone, collapse on a desktop).
 * 2. Scroll cue. A display equation, table, code cell or output wider than the column scrolls inside its box;
 *    the box gets data-icrl-scroll="end|start|both" (where more content lies), which icrl-reader.css draws as a
 *    fade on that edge. Updated on scroll, resize and after MathJax typesets.
 * 3. "Solution to Exercise n.m" titles: the exercise name is a link, so a click on the title jumped back to the
 *    exercise instead of opening the solution. The link becomes plain text, and a click anywhere on a dropdown's
 *    title (text and math included) opens it.
 * 4. Search excerpts: Sphinx takes the excerpt from the page's text, where math is TeX source ("TD(\(\lambda\))");
 *    math elements are turned into readable text (TD(λ)) before the excerpt is cut.
 */
(() => {
  "use strict";
  const ready = (cb) => (document.readyState !== "loading" ? cb() : document.addEventListener("DOMContentLoaded", cb));

  // 1. navigation toggles ------------------------------------------------------------------------------------
  function forwardToggles() {
    for (const sel of [".primary-toggle", ".secondary-toggle"]) {
      const all = [...document.querySelectorAll(sel)];
      const first = all[0];
      for (const btn of all.slice(1)) {
        if (btn.dataset.icrlForward) continue;
        btn.dataset.icrlForward = "1";
        btn.setAttribute("aria-label", sel === ".primary-toggle" ? "Chapters (site navigation)" : "On this page");
        btn.addEventListener("click", (ev) => {
          ev.preventDefault();
          ev.stopPropagation();
          first.click();
          btn.blur();
        });
      }
    }
  }

  // 2. scroll cue ----------------------------------------------------------------------------------------------
  const SCROLLERS = 'pre, mjx-container[display="true"], .pst-scrollable-table-container, div.math, ' +
    ".table-wrapper, .cell_output .output, .output_area, div.highlight, .bd-article table";
  function mark(el) {
    const max = el.scrollWidth - el.clientWidth;
    let where = "";
    if (max > 1) {
      const x = Math.abs(el.scrollLeft);
      where = x < 2 ? "end" : x > max - 2 ? "start" : "both";
    }
    if (where) {
      if (el.dataset.icrlScroll !== where) el.dataset.icrlScroll = where;
      if (!el.hasAttribute("tabindex")) el.setAttribute("tabindex", "0"); // scrollable by keyboard
    } else if (el.dataset.icrlScroll) {
      delete el.dataset.icrlScroll;
    }
  }
  const watched = new WeakSet();
  function markAll() {
    const article = document.querySelector("article.bd-article") || document.body;
    for (const el of article.querySelectorAll(SCROLLERS)) {
      const ox = getComputedStyle(el).overflowX;
      if (ox !== "auto" && ox !== "scroll") continue;
      mark(el);
      if (!watched.has(el)) {
        watched.add(el);
        el.addEventListener("scroll", () => mark(el), { passive: true });
      }
    }
  }
  let pending = 0;
  const later = () => {
    cancelAnimationFrame(pending);
    pending = requestAnimationFrame(markAll);
  };

  // 3. solution titles -----------------------------------------------------------------------------------------
  function plainSolutionTitles() {
    for (const a of document.querySelectorAll(".solution > .admonition-title a.reference")) {
      const span = document.createElement("span");
      span.className = "icrl-solution-of";
      span.textContent = a.textContent;
      a.replaceWith(span);
    }
    // sphinx-togglebutton opens a dropdown only when the click lands on the title element itself or on its
    // button, not on text or math inside the title: send every click on a title to its button.
    for (const title of document.querySelectorAll(".dropdown > .admonition-title")) {
      title.addEventListener("click", (ev) => {
        if (ev.target === title || ev.target.closest(".toggle-button")) return;
        const btn = title.querySelector(".toggle-button");
        if (!btn) return;
        ev.preventDefault();
        ev.stopPropagation();
        btn.click();
      }, true);
    }
  }

  // 4. search excerpts -----------------------------------------------------------------------------------------
  const SYMBOLS = {
    alpha: "α", beta: "β", gamma: "γ", delta: "δ", epsilon: "ε", varepsilon: "ε", zeta: "ζ", eta: "η",
    theta: "θ", vartheta: "ϑ", iota: "ι", kappa: "κ", lambda: "λ", mu: "μ", nu: "ν", xi: "ξ", pi: "π",
    rho: "ρ", sigma: "σ", tau: "τ", phi: "φ", varphi: "φ", chi: "χ", psi: "ψ", omega: "ω", Gamma: "Γ",
    Delta: "Δ", Theta: "Θ", Lambda: "Λ", Pi: "Π", Sigma: "Σ", Phi: "Φ", Psi: "Ψ", Omega: "Ω",
    R: "ℝ", E: "𝔼", T: "⊤", top: "⊤", one: "𝟏", le: "≤", leq: "≤", ge: "≥", geq: "≥", ne: "≠", neq: "≠",
    approx: "≈", to: "→", rightarrow: "→", leftarrow: "←", gets: "←", infty: "∞", sum: "Σ", prod: "Π",
    in: "∈", cdot: "·", times: "×", star: "⋆", ast: "∗", partial: "∂", nabla: "∇", mid: "|", ell: "ℓ",
    sim: "∼", pm: "±", langle: "⟨", rangle: "⟩", ldots: "…", dots: "…", cdots: "⋯",
  };
  const texToText = (tex) => tex
    .replace(/^\s*(\\\(|\\\[|\$\$?)|(\\\)|\\\]|\$\$?)\s*$/g, "")
    .replace(/\\(?:mathbb|mathcal|mathrm|mathbf|operatorname|text|textrm|boldsymbol|hat|widehat|bar|tilde)\s*\{([^{}]*)\}/g,
      (m, x) => (/^[A-Za-z]+$/.test(x) && SYMBOLS[x] && m.startsWith("\\mathbb") ? SYMBOLS[x] : x))
    .replace(/\\frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}/g, "($1)/($2)")
    .replace(/\\([A-Za-z]+)/g, (m, name) => SYMBOLS[name] ?? name)
    .replace(/\\[,;:! ]/g, " ")
    .replace(/\\([{}_$%&#|])/g, "$1")
    .replace(/[{}]/g, "")
    .replace(/\s+/g, " ")
    .trim();
  function readableSearchExcerpts() {
    // searchtools.js declares `const Search` (a global binding, not a property of window)
    if (typeof Search === "undefined" || !Search.htmlToText || Search.icrlReadable) return;
    const original = Search.htmlToText;
    Search.htmlToText = (htmlString, anchor) => {
      const doc = new DOMParser().parseFromString(htmlString, "text/html");
      for (const m of doc.querySelectorAll(".math")) m.textContent = texToText(m.textContent);
      return original(doc.documentElement.outerHTML, anchor);
    };
    Search.icrlReadable = true;
  }
  readableSearchExcerpts(); // searchtools.js runs its search on DOMContentLoaded: patch it before

  ready(() => {
    readableSearchExcerpts();
    forwardToggles();
    plainSolutionTitles();
    markAll();
    window.addEventListener("resize", later, { passive: true });
    window.addEventListener("load", later);
    // MathJax typesets after load; the display equations get their width then.
    let tries = 0;
    const whenMath = () => {
      if (window.MathJax && MathJax.startup && MathJax.startup.promise) MathJax.startup.promise.then(later);
      else if (++tries < 50 && document.querySelector(".math")) setTimeout(whenMath, 200);
    };
    whenMath();
    // Folded content (dropdowns, hidden cells) gets its width when opened.
    document.addEventListener("click", () => setTimeout(later, 50), true);
  });
})();
