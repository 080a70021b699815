"""Converts the openAPIV3Schema of CustomResourceDefinitions into the JSON schema files that
deploy/tests validates custom resources with (deploy/tests/schemas/<group>_<version>_<Kind>.json).

python deploy/tools/crd_schema.py --source "where the CRDs came from" CRD.yaml... [-o DIRECTORY]

What the API server does, as JSON Schema (draft 2020-12) can say it:
- an object with `properties` refuses other fields (`additionalProperties: false`) unless it
  says `x-kubernetes-preserve-unknown-fields`: kubectl's strict field validation (the default
  since Kubernetes 1.27) refuses an unknown field, where it would otherwise be pruned silently;
- `format: int32` / `int64` bound the integer; `nullable: true` admits null;
- apiVersion and kind are the CRD's own;
- descriptions and the other x-kubernetes-* markers are left out; CEL rules
  (x-kubernetes-validations) are not checked.
"""

import argparse
import json
import sys
from pathlib import Path

import yaml

INTEGER_BOUNDS = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}


def convert(schema: dict) -> dict:
    result: dict = {}
    for key, value in schema.items():
        if key == "description" or key.startswith("x-kubernetes-"):
            continue
        if key in ("properties", "patternProperties"):
            result[key] = {name: convert(sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties", "not") and isinstance(value, dict):
            result[key] = convert(value)
        elif key in ("allOf", "anyOf", "oneOf"):
            result[key] = [convert(sub) for sub in value]
        elif key == "nullable":
            continue
        else:
            result[key] = value
    if schema.get("nullable") and "type" in result:
        result["type"] = [result["type"], "null"]
    if result.get("type") == "integer" and schema.get("format") in INTEGER_BOUNDS:
        low, high = INTEGER_BOUNDS[schema["format"]]
        result.setdefault("minimum", low)
        result.setdefault("maximum", high)
    if (
        "properties" in result
        and "additionalProperties" not in result
        and not schema.get("x-kubernetes-preserve-unknown-fields")
    ):
        result["additionalProperties"] = False
    return result


def schemas(crd: dict, source: str) -> dict[str, dict]:
    group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
    converted = {}
    for version in crd["spec"]["versions"]:
        if not version.get("served", True):
            continue
        schema = convert(version["schema"]["openAPIV3Schema"])
        schema["properties"]["apiVersion"] = {"const": f"{group}/{version['name']}"}
        schema["properties"]["kind"] = {"const": kind}
        schema["required"] = sorted({"apiVersion", "kind", "metadata", *schema.get("required", [])})
        comment = (
            f"openAPIV3Schema of the CustomResourceDefinition {crd['metadata']['name']} "
            f"({group}/{version['name']}), from {source}; converted by "
            "deploy/tools/crd_schema.py (unknown fields refused as by kubectl's strict field "
            "validation, descriptions left out)."
        )
        converted[f"{group}_{version['name']}_{kind}.json"] = {"$comment": comment, **schema}
    return converted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("crds", nargs="+", type=Path, help="YAML files of CRDs (several a file)")
    parser.add_argument("--source", required=True, help="where the CRDs came from, for $comment")
    parser.add_argument("-o", "--output", type=Path, default=Path("deploy/tests/schemas"))
    args = parser.parse_args()
    for path in args.crds:
        for doc in yaml.safe_load_all(path.read_text()):
            if not doc or doc.get("kind") != "CustomResourceDefinition":
                continue
            for name, schema in schemas(doc, args.source).items():
                target = args.output / name
                target.write_text(json.dumps(schema, indent=2) + "\n")
                print(target, file=sys.stderr)


if __name__ == "__main__":
    main()
