FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN apt-get update && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
# collectstatic opens no connection; the URLs only keep the settings from starting embedded services.
RUN DJANGO_SETTINGS_MODULE=config.settings DATABASE_URL=postgres://build@localhost/raf REDIS_URL=redis://localhost:6379/0 \
    python manage.py collectstatic --noinput
RUN useradd --create-home raf && mkdir -p /data/media && chown raf /data/media
USER raf
EXPOSE 8000
