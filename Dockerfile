# eidos snapshot agent image.
#
# Build (from the repository root; needs network access to PyPI, Docker Hub and Debian):
#   docker build -t <registry>/eidos:0.1.0 .
#   docker push <registry>/eidos:0.1.0
# Use:
#   eidos snapshot --deploy-agent --image <registry>/eidos:0.1.0 -o snapshot.yaml
#   (or export EIDOS_AGENT_IMAGE=<registry>/eidos:0.1.0)
#
# What the agent needs inside the image: Python with eidos installed (the `eidos` command)
# and `systemctl` for the SystemD collector (it reads unit state from the host's systemd
# over the host's D-Bus socket, mounted at /host/run/dbus). `nvidia-smi` is NOT baked in:
# the NVIDIA container runtime injects the host driver's nvidia-smi when
# NVIDIA_VISIBLE_DEVICES is set, which the agent Job does.
#
# Supply chain:
# * the base image is pinned by version tag AND by the digest of its multi-architecture
#   index (amd64 + arm64), so a rebuilt or re-pointed tag cannot change what we build on.
#   The digest could not be pulled where this file was written (no network); it is the
#   index digest of python:3.11.14-slim-bookworm as recorded independently by several
#   public repositories. Check or refresh it with
#     docker buildx imagetools inspect python:3.11.14-slim-bookworm
#   and update both stages together. A wrong digest fails the build; it never substitutes.
# * every Python dependency is installed from requirements-*.txt with --require-hashes:
#   exact versions, sha256 of every wheel, wheels only (no setup.py runs at build time).
# * the Debian `systemd` package comes from Debian's signed archive (apt verifies it);
#   its version follows bookworm's security updates rather than a pin that would vanish
#   from the mirrors.
ARG BASE=python:3.11.14-slim-bookworm@sha256:65a93d69fa75478d554f4ad27c85c1e69fa184956261b4301ebaf6dbb0a3543d

FROM ${BASE} AS build
WORKDIR /src
COPY requirements-build.txt ./
RUN pip install --no-cache-dir --require-hashes --only-binary=:all: -r requirements-build.txt
COPY pyproject.toml README.md ./
COPY eidos ./eidos
COPY grammar ./grammar
COPY rules ./rules
COPY recipes ./recipes
# --no-build-isolation: build with the hashed hatchling above, not a freshly resolved one
RUN pip wheel --no-cache-dir --no-deps --no-build-isolation --wheel-dir /wheels .

FROM ${BASE}
# systemctl for the SystemD collector; then no set-uid/set-gid programs remain (the pod
# also sets allowPrivilegeEscalation=false, so they could not gain anything anyway)
RUN apt-get update \
 && apt-get install -y --no-install-recommends systemd \
 && rm -rf /var/lib/apt/lists/* \
 && find / -xdev -type f -perm /6000 -exec chmod a-s {} +
COPY requirements-agent.txt /tmp/requirements-agent.txt
RUN pip install --no-cache-dir --require-hashes --only-binary=:all: -r /tmp/requirements-agent.txt \
 && rm /tmp/requirements-agent.txt
COPY --from=build /wheels /wheels
# eidos itself was built above from this source tree; its dependencies are all installed
RUN pip install --no-cache-dir --no-deps /wheels/*.whl && rm -rf /wheels
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
# The Job runs as this uid too (eidos.snapshot.agent.AGENT_UID), non-root, with no
# capabilities, a read-only root filesystem and /tmp as an emptyDir. Numeric, so the
# kubelet can check runAsNonRoot against the image itself.
USER 65532:65532
ENTRYPOINT ["eidos"]
CMD ["snapshot", "--help"]
