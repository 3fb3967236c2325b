# Sluice in a container: Node 20 on Debian with the Kafka client built against Debian's libraries.
FROM node:20-bookworm
RUN apt-get update && apt-get install -y --no-install-recommends \
      build-essential python3 pkg-config libssl-dev zlib1g-dev libzstd-dev libsasl2-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
ENV CKJS_LINKING=dynamic
RUN npm ci --no-audit --no-fund
COPY . .
ENTRYPOINT ["node", "bin/sluice.js"]
