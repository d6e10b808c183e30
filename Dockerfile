# The skipscape command line in a container, for cluster engines
# (examples/cluster/: a Kubernetes Indexed Job; Slurm through Apptainer).
#
#   docker build -t skipscape .
#   docker run --rm -v "$PWD:/work" -w /work skipscape landscape --checkpoint ckpt.safetensors \
#     --grid -1:1:51,-1:1:51 --shard 1/4 --out shards/surface-1.json
#
# The CLI bundle is built here, once, so containers start computing at once.
FROM node:22-bookworm-slim

WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# Runtime dependencies only: tfjs and its backends, esbuild (builds the CLI
# bundle), h5wasm; the site's build and test tools are not needed to compute.
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

COPY bin ./bin
COPY src ./src
COPY public/data ./public/data
COPY tsconfig.json ./
RUN node bin/skipscape.mjs --help > /dev/null \
  && ln -s /app/bin/skipscape.mjs /usr/local/bin/skipscape

# Results are written where the container is pointed (-w, a mounted volume).
WORKDIR /work
ENTRYPOINT ["skipscape"]
CMD ["--help"]
