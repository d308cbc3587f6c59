// How a deployment state reads and looks on live pages, matching templates/deployments/_state_badge.html.
window.portalDeploymentStates = {
  LABELS: {
    pending_approval: "Pending approval", queued: "Queued", applying: "Applying", progressing: "Progressing",
    succeeded: "Succeeded", failed: "Failed", rolled_back: "Rolled back", cancelled: "Cancelled",
  },
  TONES: {
    pending_approval: "text-bg-secondary", queued: "text-bg-secondary", applying: "text-bg-info",
    progressing: "text-bg-primary", succeeded: "text-bg-success", failed: "text-bg-danger",
    rolled_back: "text-bg-warning", cancelled: "text-bg-dark",
  },
};
