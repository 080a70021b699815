// Validates Prometheus Operator resources (JSON array on stdin) with the schemas of the npm
// package @kubernetes-models/prometheus-operator (make deploy-tools). Prints one JSON array of
// problems ("Kind/name: message"); exits 0.
// node validate_monitoring.mjs MODELS_DIR < resources.json
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const modelsDir = process.argv[2];
const resources = JSON.parse(readFileSync(0, "utf8"));
const problems = [];
for (const resource of resources) {
  const [group, version] = resource.apiVersion.split("/");
  const where = `${resource.kind}/${resource.metadata?.name}`;
  let Model;
  try {
    const module = await import(pathToFileURL(join(modelsDir, group, version, `${resource.kind}.js`)));
    Model = module[resource.kind];
  } catch (error) {
    problems.push(`${where}: no schema for ${resource.apiVersion} ${resource.kind}`);
    continue;
  }
  try {
    new Model(resource).validate();
  } catch (error) {
    problems.push(`${where}: ${error.message}`);
  }
}
console.log(JSON.stringify(problems));
