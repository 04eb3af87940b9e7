# hubsync worker and API (one image, two commands). TypeScript runs through tsx, as in development.
FROM node:24-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
USER node
# `npm run api` for the API; both need TEMPORAL_ADDRESS and DATABASE_URL.
CMD ["npm", "run", "worker"]
