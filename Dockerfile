# kb: one image for the app processes (and, later, the background worker).
FROM node:20-slim AS frontend
WORKDIR /src/frontend
COPY frontend/ ./
RUN if [ -f package.json ]; then npm ci --no-audit --no-fund && npm run build; else mkdir -p dist; fi

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
COPY --from=frontend /src/frontend/dist ./frontend/dist
RUN SECRET_KEY=build-only python manage.py collectstatic --noinput -v0
RUN useradd --create-home kb && mkdir -p /app/data && chown kb /app/data
USER kb
EXPOSE 8000
CMD ["python", "-m", "kb.serve", "--host", "0.0.0.0", "--port", "8000"]
