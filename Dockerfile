# eidos snapshot agent image.
#
# Build (from the repository root; needs network access to PyPI and Docker Hub):
#   docker build -t <registry>/eidos:0.1.0 .
#   docker push <registry>/eidos:0.1.0
# Use:
#   eidos snapshot --deploy-agent --image <registry>/eidos:0.1.0 -o snapshot.yaml
#   (or export EIDOS_AGENT_IMAGE=<registry>/eidos:0.1.0)
#
# What the agent needs inside the image: Python with eidos installed (the `eidos` command)
# and `systemctl` for the SystemD collector (it reaches the host's systemd through the host's
# D-Bus socket under /host/run/dbus). `nvidia-smi` is NOT baked in: the NVIDIA container
# runtime injects the host driver's nvidia-smi when NVIDIA_VISIBLE_DEVICES is set, which the
# agent Job does. Without it the GPU collector reports "unavailable".
FROM python:3.11-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY eidos ./eidos
COPY grammar ./grammar
COPY rules ./rules
COPY recipes ./recipes
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim-bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends systemd \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
# The Job runs as root with only DAC_READ_SEARCH (to read root-only files under /host) and a
# read-only root filesystem; /tmp is an emptyDir.
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
ENTRYPOINT ["eidos"]
CMD ["snapshot", "--help"]
