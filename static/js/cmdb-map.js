// The CMDB dependency map: fetches the graph around an item, draws it with Cytoscape.js and lays it out
// with ELK. The filters start from the page's address and are written back to it; they reload the graph;
// a click on an item opens its page. No inline handlers (CSP).
(function () {
  "use strict";

  const COLOURS = {
    cluster: "#212529", node: "#495057", namespace: "#6f42c1", application: "#0d6efd", workload: "#0dcaf0",
    service: "#20c997", ingress: "#198754", database: "#fd7e14", cache: "#ffc107", queue: "#d63384",
    "external-service": "#dc3545", team: "#6c757d",
  };

  // The form starts from the page's address (?depth=4&type=database ...), so a shared link shows the same map.
  // A value the form does not offer is left at the form's default.
  function applyAddress(form, params) {
    const depth = form.querySelector("#map-depth");
    if (Array.from(depth.options).some((option) => option.value === params.get("depth"))) depth.value = params.get("depth");
    ["type", "provenance"].forEach((name) => {
      const wanted = params.getAll(name);
      if (wanted.length) form.querySelectorAll(`input[name=${name}]`).forEach((box) => { box.checked = wanted.includes(box.value); });
    });
    if (params.get("stale") === "false") form.querySelector("input[name=stale]").checked = false;
  }

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

  // Which side of the centre each item is on: what the centre relies on (downstream, drawn to its right)
  // or what relies on it (upstream, to its left). Items reached both ways count as downstream.
  function sides(graph) {
    const walk = (from, to) => {
      const seen = new Set([graph.center]);
      const queue = [graph.center];
      while (queue.length) {
        const id = queue.shift();
        graph.edges.forEach((edge) => {
          if (edge[from] === id && !seen.has(edge[to])) { seen.add(edge[to]); queue.push(edge[to]); }
        });
      }
      return seen;
    };
    const upstream = walk("target", "source");
    const downstream = walk("source", "target");
    return (id) => (upstream.has(id) && !downstream.has(id) ? "upstream" : "downstream");
  }

  const measure = document.createElement("canvas").getContext("2d");
  const FONT = "11px system-ui, sans-serif";
  const textWidth = (text, font) => { measure.font = font; return Math.ceil(measure.measureText(text).width); };
  const GROUP_PADDING = 8;
  const GROUP_LABEL = 18;

  // Items are boxes sized to their name, so the layout keeps names apart. Each side's items are grouped
  // in one labelled box per type; hidden edges between the groups tell the layout their order.
  function elements(graph, typeNames) {
    const side = sides(graph);
    const groupOf = new Map();
    const counts = new Map();
    graph.nodes.forEach((node) => {
      const group = node.center ? String(node.id) : `${side(node.id)}:${node.type}`;
      groupOf.set(node.id, group);
      if (!node.center) counts.set(group, (counts.get(group) || 0) + 1);
    });
    const groups = Array.from(counts, ([id, count]) => {
      const type = id.split(":")[1];
      const label = `${typeNames[type] || type} (${count})`;
      return { group: "nodes", classes: "group",
        data: { id, label, colour: COLOURS[type] || "#6c757d", minWidth: textWidth(label, `bold ${FONT}`) + 8 } };
    });
    const items = graph.nodes.map((node) => ({
      group: "nodes",
      data: { id: String(node.id), parent: node.center ? undefined : groupOf.get(node.id), label: node.name, type: node.type,
        colour: COLOURS[node.type] || "#6c757d", width: textWidth(node.name, node.center ? `bold ${FONT}` : FONT) + 20 },
      classes: ["item", node.center ? "center" : "", node.status !== "active" ? "faded" : "", node.tenant ? "" : "platform"].join(" "),
    }));
    const edges = graph.edges.map((edge) => ({
      group: "edges",
      data: { id: `e${edge.id}`, source: String(edge.source), target: String(edge.target), label: edge.kind.replace("_", " ") },
      // Kinds are written on the edges of small maps only; around a hub they would pile up on each other.
      classes: `${edge.provenance} ${edge.status !== "active" ? "faded" : ""} ${graph.edges.length <= 12 ? "labelled" : ""}`,
    }));
    const order = new Map();
    graph.edges.forEach((edge) => {
      const [source, target] = [groupOf.get(edge.source), groupOf.get(edge.target)];
      if (source && target && source !== target) order.set(`${source}>${target}`, { source, target });
    });
    const orderEdges = Array.from(order.values(), (data, n) => ({ group: "edges", data: { id: `order${n}`, ...data }, classes: "order" }));
    return groups.concat(items, edges, orderEdges);
  }

  // ELK's layered layout places the groups: what relies on the centre left of it, what it relies on right
  // of it, one layer per hop. Inside a group the items are packed in rows, so a hub's fifty neighbours form
  // blocks instead of one long line. A group is at least as wide as its name, which sits above its box.
  function layout(cy) {
    const groupOptions = (node) => ({
      "elk.algorithm": "rectpacking",
      "elk.padding": `[top=${GROUP_PADDING + GROUP_LABEL},left=${GROUP_PADDING},bottom=${GROUP_PADDING},right=${GROUP_PADDING}]`,
      "elk.spacing.nodeNode": "8",
      "elk.nodeSize.constraints": "MINIMUM_SIZE",
      "elk.nodeSize.minimum": `(${node.data("minWidth") + 2 * GROUP_PADDING}, 0)`,
    });
    return cy.layout({
      name: "elk",
      eles: cy.nodes().union(cy.edges(".order")),
      fit: false,
      nodeLayoutOptions: (node) => (node.isParent() ? groupOptions(node) : {}),
      elk: { algorithm: "layered", "elk.direction": "RIGHT", "elk.spacing.nodeNode": "20",
        "elk.layered.spacing.nodeNodeBetweenLayers": "60" },
    });
  }

  const STYLE = [
    { selector: "node.item", style: { shape: "round-rectangle", width: "data(width)", height: 26, label: "data(label)",
      "font-size": 11, "font-family": "system-ui, sans-serif", "text-valign": "center", "text-halign": "center",
      "background-color": "#fff", "border-width": 2, "border-color": "data(colour)", color: "#212529" } },
    { selector: "node.center", style: { "border-width": 4, "font-weight": "bold", "background-color": "#e7f1ff" } },
    { selector: "node.platform", style: { "border-style": "double", "border-width": 4 } },
    { selector: "node.group", style: { shape: "round-rectangle", label: "data(label)", "font-size": 11, "font-weight": "bold",
      "text-valign": "top", "text-halign": "center", "text-margin-y": -2, color: "data(colour)", padding: GROUP_PADDING,
      "min-width": "data(minWidth)", "min-width-bias-left": "0%", "min-width-bias-right": "100%",
      "background-color": "data(colour)", "background-opacity": 0.06, "border-width": 1, "border-color": "data(colour)",
      "border-opacity": 0.5 } },
    { selector: "edge.order", style: { display: "none" } },
    { selector: ".faded", style: { opacity: 0.4 } },
    { selector: "edge", style: { "curve-style": "straight", "target-arrow-shape": "triangle", width: 1.2,
      "line-color": "#adb5bd", "target-arrow-color": "#adb5bd" } },
    { selector: "edge.labelled", style: { label: "data(label)", "font-size": 8, "text-rotation": "autorotate", color: "#6c757d",
      "text-background-color": "#fff", "text-background-opacity": 1 } },
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
    cytoscape.use(cytoscapeElk);
    container.style.height = "560px";
    const form = document.getElementById("map-filters");
    const list = document.getElementById("map-nodes");
    const itemUrl = container.dataset.itemUrl;
    const typeNames = Object.fromEntries(Array.from(form.querySelectorAll("input[name=type]"),
      (box) => [box.value, box.parentElement.textContent.trim()]));
    const cy = cytoscape({ container, style: STYLE, wheelSensitivity: 0.2, minZoom: 0.2, maxZoom: 1.5 });
    window.cmdbMap = cy;
    cy.on("tap", "node.item", (event) => { window.location.href = itemUrl.replace(/\/0\/$/, `/${event.target.id()}/`); });
    applyAddress(form, new URLSearchParams(window.location.search));
    let loads = 0;

    async function load() {
      const current = ++loads;
      const params = query(form);
      window.history.replaceState(null, "", `${window.location.pathname}?${params}`);
      document.getElementById("export-json").href = `${container.dataset.graphUrl}?${params}`;
      document.getElementById("export-dot").href = `${container.dataset.dotUrl}?${params}`;
      const response = await fetch(`${container.dataset.graphUrl}?${params}`, { credentials: "same-origin",
        headers: { Accept: "application/json" } });
      if (!response.ok) { container.dataset.error = String(response.status); return; }
      const graph = await response.json();
      if (current !== loads) return; // a later change of the filters is already loading
      delete container.dataset.renderedNodes;
      cy.elements().remove();
      cy.add(elements(graph, typeNames));
      const run = layout(cy);
      run.one("layoutstop", () => {
        // A big neighbourhood gets a taller map rather than smaller text.
        const height = Math.min(900, Math.max(560, cy.elements().boundingBox().h * 0.8 + 40));
        container.style.height = `${Math.round(height)}px`;
        cy.resize();
        cy.fit(undefined, 20);
        container.dataset.depth = form.querySelector("#map-depth").value;
        container.dataset.renderedNodes = String(cy.nodes(".item").length);
      });
      run.run();
      listNodes(list, graph, itemUrl);
    }

    form.addEventListener("change", load);
    form.addEventListener("submit", (event) => { event.preventDefault(); load(); });
    load();
  }

  document.addEventListener("DOMContentLoaded", start);
}());
