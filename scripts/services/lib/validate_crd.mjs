// Validates custom resources against the upstream CRD schemas through the @kubernetes-models
// packages (npm): required fields, types and patterns. They do not reject unknown fields.
// Usage: validate_crd.mjs FILE.json...  (one object per file); exit 1 on the first failures.
// Run from the npm prefix holding node_modules (scripts/services/kubernetes-models.sh does),
// so the bare imports below resolve.
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { PodMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor";
import { PrometheusRule } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule";
import { ServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor";

const models = {
  "monitoring.coreos.com/v1": { PodMonitor, PrometheusRule, ServiceMonitor },
};

// cert-manager's models, from their own npm prefix (CERT_MANAGER_MODELS: the package folder).
if (process.env.CERT_MANAGER_MODELS) {
  const load = async (kind) =>
    (await import(pathToFileURL(`${process.env.CERT_MANAGER_MODELS}/cert-manager.io/v1/${kind}.js`).href))[kind];
  models["cert-manager.io/v1"] = {
    Certificate: await load("Certificate"),
    Issuer: await load("Issuer"),
    ClusterIssuer: await load("ClusterIssuer"),
  };
}

let failed = 0;
for (const file of process.argv.slice(2)) {
  const obj = JSON.parse(readFileSync(file, "utf8"));
  const model = models[obj.apiVersion]?.[obj.kind];
  if (!model) {
    console.error(`${file}: no model for ${obj.apiVersion} ${obj.kind}`);
    failed++;
    continue;
  }
  try {
    new model(obj).validate();
  } catch (e) {
    console.error(`${file}: ${obj.kind} ${obj.metadata?.name}: ${e.message}`);
    failed++;
  }
}
process.exit(failed ? 1 : 0);
