FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY kapacitor ./kapacitor
COPY services ./services
RUN pip install --no-cache-dir .
ENV KAPACITOR_DATA_DIR=/var/lib/kapacitor
CMD ["kapacitord"]
