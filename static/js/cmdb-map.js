// The CMDB dependency map: fetches the graph around an item and draws it with Cytoscape.js.
// Filters reload the graph; a click on an item opens its page. No inline handlers (CSP).
(function () {
  "use strict";

  const COLOURS = {
    cluster: "#212529", node: "#495057", namespace: "#6f42c1", application: "#0d6efd", workload: "#0dcaf0",
    service: "#20c997", ingress: "#198754", database: "#fd7e14", cache: "#ffc107", queue: "#d63384",
    "external-service": "#dc3545", team: "#6c757d",
  };

  function query(form) {
    const params = new URLSearchParams();
    params.set("depth", form.querySelector("#map-depth").value);
    const all = (name) => Array.from(form.querySelectorAll(`input[name=${name}]`));
    const types = all("type").filter((box) => box.checked);
    if (types.length < all("type").length) types.forEach((box) => params.append("type", box.value));
    const provenances = all("provenance").filter((box) => box.checked);
    if (provenances.length < all("provenance").length) provenances.forEach((box) => params.append("provenance", box.value));
    if (!form.querySelector("input[name=stale]").checked) params.set("stale", "false");
    if (!types.length) params.append("type", "none");
    return params.toString();
  }

  function elements(graph) {
    const nodes = graph.nodes.map((node) => ({
      group: "nodes",
      data: { id: String(node.id), label: `${node.name}\n${node.type}`, type: node.type, colour: COLOURS[node.type] || "#6c757d" },
      classes: [node.center ? "center" : "", node.status !== "active" ? "faded" : "", node.tenant ? "" : "platform"].join(" "),
    }));
    const edges = graph.edges.map((edge) => ({
      group: "edges",
      data: { id: `e${edge.id}`, source: String(edge.source), target: String(edge.target), label: edge.kind.replace("_", " ") },
      classes: `${edge.provenance} ${edge.status !== "active" ? "faded" : ""}`,
    }));
    return nodes.concat(edges);
  }

  const STYLE = [
    { selector: "node", style: { "background-color": "data(colour)", label: "data(label)", "text-wrap": "wrap",
      "font-size": 10, "text-valign": "bottom", "text-margin-y": 4, width: 26, height: 26 } },
    { selector: "node.center", style: { "border-width": 4, "border-color": "#0d6efd", width: 36, height: 36 } },
    { selector: "node.platform", style: { shape: "round-rectangle" } },
    { selector: ".faded", style: { opacity: 0.4 } },
    { selector: "edge", style: { "curve-style": "bezier", "target-arrow-shape": "triangle", width: 1.5, label: "data(label)",
      "font-size": 8, "text-rotation": "autorotate", color: "#6c757d", "line-color": "#adb5bd", "target-arrow-color": "#adb5bd" } },
    { selector: "edge.discovered", style: { "line-style": "dashed" } },
    { selector: "edge.observed", style: { "line-style": "dotted" } },
  ];

  function listNodes(list, graph, itemUrl) {
    list.replaceChildren(...graph.nodes.map((node) => {
      const entry = document.createElement("li");
      entry.className = "list-inline-item";
      const link = document.createElement("a");
      link.href = itemUrl.replace(/\/0\/$/, `/${node.id}/`);
      link.textContent = node.name;
      link.dataset.node = node.id;
      entry.appendChild(link);
      return entry;
    }));
  }

  function start() {
    const container = document.getElementById("cmdb-map");
    if (!container || typeof cytoscape === "undefined") return;
    container.style.height = "560px";
    const form = document.getElementById("map-filters");
    const list = document.getElementById("map-nodes");
    const itemUrl = container.dataset.itemUrl;
    const cy = cytoscape({ container, style: STYLE, wheelSensitivity: 0.2 });
    window.cmdbMap = cy;
    cy.on("tap", "node", (event) => { window.location.href = itemUrl.replace(/\/0\/$/, `/${event.target.id()}/`); });

    async function load() {
      const params = query(form);
      document.getElementById("export-json").href = `${container.dataset.graphUrl}?${params}`;
      document.getElementById("export-dot").href = `${container.dataset.dotUrl}?${params}`;
      const response = await fetch(`${container.dataset.graphUrl}?${params}`, { credentials: "same-origin",
        headers: { Accept: "application/json" } });
      if (!response.ok) { container.dataset.error = String(response.status); return; }
      const graph = await response.json();
      cy.elements().remove();
      cy.add(elements(graph));
      cy.layout({ name: "breadthfirst", directed: true, roots: `#${graph.center}`, padding: 20, spacingFactor: 1.1 }).run();
      listNodes(list, graph, itemUrl);
      container.dataset.renderedNodes = String(cy.nodes().length);
    }

    form.addEventListener("change", load);
    form.addEventListener("submit", (event) => { event.preventDefault(); load(); });
    load();
  }

  document.addEventListener("DOMContentLoaded", start);
}());
