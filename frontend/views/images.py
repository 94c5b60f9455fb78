"""Image page: the photo with its face box and landmarks, its votes, its status."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect

from annotation.models import Image
from annotation.permissions import RESEARCHER
from annotation.selectors.image_votes import image_main_face, image_vote_histogram
from frontend.access import page, role_required
from frontend.images import display_url

LANDMARK_NAMES = ("left eye", "right eye", "nose tip", "left mouth corner", "right mouth corner")
BAR_WIDTH, BAR_GAP, CHART_HEIGHT = 44, 10, 160


@role_required(RESEARCHER)
def image_lookup(request: HttpRequest) -> HttpResponse:
    image_id = request.GET.get("id", "")
    if not image_id.isdigit():
        raise Http404
    return redirect("frontend:image", image_id=int(image_id))


@role_required(RESEARCHER)
def image_detail(request: HttpRequest, image_id: int) -> HttpResponse:
    image = get_object_or_404(Image.objects.select_related("project"), pk=image_id)
    face = image_main_face(image=image)
    counts = image_vote_histogram(image=image)
    total = sum(counts)
    peak = max(counts) or 1
    bars = []
    for index, (name, n) in enumerate(zip(image.project.classes, counts, strict=True)):
        height = round(CHART_HEIGHT * n / peak)
        bars.append(
            {
                "name": name,
                "count": n,
                "share": round(100 * n / total) if total else 0,
                "x": index * (BAR_WIDTH + BAR_GAP),
                "y": 20 + CHART_HEIGHT - height,
                "height": height,
            }
        )
    landmarks = []
    if face and face.landmarks:
        landmarks = [{"name": n, "x": p[0], "y": p[1]} for n, p in zip(LANDMARK_NAMES, face.landmarks, strict=False)]
    return page(
        request,
        "image.html",
        {
            "image": image,
            "url": display_url(image),
            "face": face,
            "landmarks": landmarks,
            "bars": bars,
            "total_votes": total,
            "chart_width": len(bars) * (BAR_WIDTH + BAR_GAP),
            "chart_height": CHART_HEIGHT + 60,
            "bar_width": BAR_WIDTH,
            "marker_r": max(image.width, image.height) / 120,
            "stroke": max(image.width, image.height) / 250,
        },
    )
