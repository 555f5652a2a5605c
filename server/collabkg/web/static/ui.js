// The query UI (/ui): YASGUI on this server's endpoint, one tab per canned query (templates/ui.html holds the
// data: #examples and #ui-config, JSON blocks). A file of its own, not an inline script, so that a
// Content-Security-Policy of script-src 'self' holds.
(function () {
  "use strict";
  const examples = JSON.parse(document.getElementById("examples").textContent);
  const config = JSON.parse(document.getElementById("ui-config").textContent);
  // Nothing may leave this server: the class and property completers ask lov.linkeddata.es, so only the
  // completers that work from the query itself stay on.
  Yasgui.Yasqe.defaults.autocompleters = ["variables"];
  const yasgui = new Yasgui(document.getElementById("yasgui"), {
    requestConfig: { endpoint: config.endpoint, method: "POST" },
    endpointCatalogueOptions: { getData: () => [{ endpoint: config.endpoint }] },
    persistenceId: null,
    autoAddOnInit: false,
    copyEndpointOnNewTab: true,
  });
  const wanted = examples.find((example) => example.name === config.run);
  const first = wanted || examples[0];
  for (const example of examples) {
    const tab = yasgui.addTab(example === first, {
      name: example.name,
      yasqe: { value: example.query },
      requestConfig: { endpoint: config.endpoint, method: "POST" },
    });
    if (example === wanted) {
      // ?run=NAME: run it at once (links from the start page, and the browser test, use this).
      tab.getYasr().on("drawn", () => document.body.setAttribute("data-query-done", example.name));
      tab.query();
    }
  }
  if (!first) {
    yasgui.addTab(true);
  }
})();
