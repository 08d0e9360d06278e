# gupstress in a container: the CLI built from this checkout, writing its results to /results.
#   docker build -t gupstress .
#   docker run --rm -v gupstress-results:/results gupstress            # the campaign (npm start)
#   docker run --rm -v gupstress-results:/results gupstress explore --scenario ksm-merge --out /results
# The arguments after the image name replace CMD: a gupstress command and its options. With a
# host folder for /results (-v "$PWD/results:/results"), add --user "$(id -u):$(id -g)" so the
# container can write there.
ARG NODE_VERSION=24

FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
COPY build/ build/
COPY src/ src/
COPY workers/ workers/
COPY harness/ harness/
# npm ci runs the package's prepare script, the build: tsc into dist/, then the model's resumable
# form into dist/resumable/. The compiler is a devDependency; the runtime stage keeps only the
# production dependencies.
RUN npm ci --no-audit --no-fund \
 && test -f dist/harness/cli.js \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund \
 && mkdir -p results

FROM node:${NODE_VERSION}-bookworm-slim
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules/ node_modules/
COPY --from=build /app/dist/ dist/
COPY litmus/ litmus/
COPY --from=build --chown=node:node /app/results/ /results/
USER node
VOLUME /results
ENTRYPOINT ["node", "dist/harness/cli.js"]
CMD ["campaign", "--out", "/results"]
