# Build stage: a C compiler for the compiled line-protocol scan (kapacitor/lineprotocol/_uniform.c)
# and wheels of everything; the image itself carries no compiler.
FROM python:3.11-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY kapacitor ./kapacitor
COPY services ./services
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
ENV KAPACITOR_DATA_DIR=/var/lib/kapacitor
CMD ["kapacitord"]
