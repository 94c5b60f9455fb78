// Face editor: box and 5 landmarks on an SVG over the photo, dragged with Pointer Events
// (mouse, pen, touch) or nudged with the keyboard, saved through the faces API.
(function () {
  "use strict";

  const config = JSON.parse(document.getElementById("faces-config").textContent);
  const svgNS = "http://www.w3.org/2000/svg";
  const stage = document.getElementById("stage");
  const others = document.getElementById("others");
  const current = document.getElementById("current");
  const statusLine = document.getElementById("status");
  const NAMES = ["left eye", "right eye", "nose tip", "left mouth corner", "right mouth corner", "box top-left", "box bottom-right"];
  const ATTRIBUTES = ["gender", "age_range", "race"];

  let image = null; // the API's image: {id, width, height, status, file_url, faces, reports}
  let faceIndex = 0; // which face of image.faces is edited; -1 = a new face being drawn
  let draft = null; // {box: [x1, y1, x2, y2], landmarks: [[x, y] x 5]}
  let selected = 0; // 0-4 landmarks, 5 and 6 box corners
  let dragging = null; // pointer id while a handle is dragged
  let handles = [];
  let rect = null;

  function csrfToken() {
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  async function api(method, url, body) {
    const response = await fetch(url, {
      method: method,
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken(), Accept: "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const error = data.error || {};
      let message = error.message || "Request failed (" + response.status + ")";
      if (error.details) message += " " + JSON.stringify(error.details);
      throw new Error(message);
    }
    return data;
  }

  function say(message, isError) {
    statusLine.textContent = message;
    statusLine.className = isError ? "error" : "";
  }

  function round(value) {
    return Math.round(value * 100) / 100;
  }

  // ------------------------------------------------------------------ drawing

  function svgElement(name, attributes) {
    const element = document.createElementNS(svgNS, name);
    for (const key in attributes) element.setAttribute(key, attributes[key]);
    return element;
  }

  function handlePoint(index) {
    if (index < 5) return draft.landmarks[index];
    return index === 5 ? [draft.box[0], draft.box[1]] : [draft.box[2], draft.box[3]];
  }

  function setHandlePoint(index, x, y) {
    x = Math.min(Math.max(x, 0), image.width);
    y = Math.min(Math.max(y, 0), image.height);
    if (index < 5) {
      draft.landmarks[index] = [round(x), round(y)];
    } else if (index === 5) {
      draft.box[0] = round(Math.min(x, draft.box[2] - 2));
      draft.box[1] = round(Math.min(y, draft.box[3] - 2));
    } else {
      draft.box[2] = round(Math.max(x, draft.box[0] + 2));
      draft.box[3] = round(Math.max(y, draft.box[1] + 2));
    }
    place();
  }

  function build() {
    // One set of elements per edited face; moves only update attributes, so focus stays put.
    others.replaceChildren();
    current.replaceChildren();
    const scale = Math.max(image.width, image.height) / 500;
    stage.style.setProperty("--stroke", String(Math.max(1, scale * 1.5)));
    image.faces.forEach((face, index) => {
      if (index === faceIndex) return;
      const [x1, y1, x2, y2] = face.box;
      others.appendChild(svgElement("rect", { class: "box other", x: x1, y: y1, width: x2 - x1, height: y2 - y1 }));
    });
    if (!draft) return;
    rect = svgElement("rect", { class: "box" });
    current.appendChild(rect);
    handles = [];
    const radius = Math.max(3, scale * 5);
    for (let index = 0; index < 7; index++) {
      const group = svgElement("g", { tabindex: "0", role: "button", "data-handle": String(index), "aria-label": NAMES[index] });
      const circle = svgElement(index < 5 ? "circle" : "rect", { class: "handle" + (index < 5 ? " landmark" : "") });
      if (index < 5) circle.setAttribute("r", radius);
      else {
        circle.setAttribute("width", radius * 2);
        circle.setAttribute("height", radius * 2);
      }
      const label = svgElement("text", { class: "label" });
      label.textContent = String(index + 1);
      group.append(circle, label);
      group.addEventListener("pointerdown", (event) => startDrag(event, index, group));
      group.addEventListener("focus", () => select(index, false));
      current.appendChild(group);
      handles.push({ group, circle, label, radius });
    }
    place();
  }

  function place() {
    const [x1, y1, x2, y2] = draft.box;
    rect.setAttribute("x", x1);
    rect.setAttribute("y", y1);
    rect.setAttribute("width", x2 - x1);
    rect.setAttribute("height", y2 - y1);
    handles.forEach((handle, index) => {
      const [x, y] = handlePoint(index);
      if (index < 5) {
        handle.circle.setAttribute("cx", x);
        handle.circle.setAttribute("cy", y);
      } else {
        handle.circle.setAttribute("x", x - handle.radius);
        handle.circle.setAttribute("y", y - handle.radius);
      }
      handle.label.setAttribute("x", x + handle.radius * 1.3);
      handle.label.setAttribute("y", y - handle.radius * 1.3);
      handle.circle.classList.toggle("selected", index === selected);
      handle.group.setAttribute("aria-label", NAMES[index] + " at " + Math.round(x) + ", " + Math.round(y));
    });
  }

  function select(index, focus) {
    selected = index;
    if (focus && handles[index]) handles[index].group.focus();
    place();
  }

  // ------------------------------------------------------------------ pointer and keys

  function toImage(event) {
    const point = stage.createSVGPoint();
    point.x = event.clientX;
    point.y = event.clientY;
    return point.matrixTransform(stage.getScreenCTM().inverse());
  }

  function startDrag(event, index, group) {
    event.preventDefault();
    select(index, true);
    dragging = event.pointerId;
    group.setPointerCapture(event.pointerId);
    const move = (moveEvent) => {
      if (moveEvent.pointerId !== dragging) return;
      const point = toImage(moveEvent);
      setHandlePoint(index, point.x, point.y);
    };
    const end = (endEvent) => {
      if (endEvent.pointerId !== dragging) return;
      dragging = null;
      group.removeEventListener("pointermove", move);
      group.removeEventListener("pointerup", end);
      group.removeEventListener("pointercancel", end);
    };
    group.addEventListener("pointermove", move);
    group.addEventListener("pointerup", end);
    group.addEventListener("pointercancel", end);
  }

  document.addEventListener("keydown", (event) => {
    if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "s") {
      event.preventDefault();
      save();
      return;
    }
    const target = event.target;
    if (target.closest && target.closest("input, select, textarea")) return;
    if (!draft) return;
    if (/^[1-7]$/.test(event.key) && !event.ctrlKey && !event.altKey) {
      event.preventDefault();
      select(Number(event.key) - 1, true);
      return;
    }
    const steps = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
    if (steps[event.key]) {
      event.preventDefault();
      const size = event.shiftKey ? 10 : 1;
      const [x, y] = handlePoint(selected);
      setHandlePoint(selected, x + steps[event.key][0] * size, y + steps[event.key][1] * size);
    }
  });

  // ------------------------------------------------------------------ faces and forms

  function showFace(index) {
    faceIndex = index;
    const face = image.faces[index];
    draft = face ? { box: face.box.slice(), landmarks: face.landmarks.map((p) => p.slice()) } : draft;
    ATTRIBUTES.forEach((name) => {
      const value = face ? face[name] : null;
      document.getElementById("attr-" + name).value = value === null || value === undefined ? "" : String(value);
    });
    renderTabs();
    renderInfo();
    build();
  }

  function renderTabs() {
    const tabs = document.getElementById("face-tabs");
    tabs.replaceChildren();
    image.faces.forEach((face, index) => {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = "Face " + (index + 1) + (face.is_main ? " (main)" : "");
      button.setAttribute("aria-pressed", String(index === faceIndex));
      button.addEventListener("click", () => showFace(index));
      tabs.appendChild(button);
    });
    const face = image.faces[faceIndex];
    document.getElementById("make-main").hidden = !face || face.is_main;
  }

  function renderInfo() {
    const info = document.getElementById("face-info");
    const face = image.faces[faceIndex];
    const alignedRow = document.getElementById("aligned-row");
    if (!face) {
      info.textContent = image.faces.length
        ? "New face: place the box and the 5 points, then save."
        : "No face found. Draw one (place the box and the 5 points, then save) or reject the image.";
      alignedRow.hidden = true;
      return;
    }
    const pose = face.roll === null ? "" : " · roll " + face.roll.toFixed(1) + "°, yaw " + face.yaw.toFixed(1) + "°, pitch " + face.pitch.toFixed(1) + "°";
    info.textContent = "Landmarks: " + face.landmarks_source + (face.confidence ? " (detector " + face.confidence.toFixed(2) + ")" : "") + pose;
    alignedRow.hidden = !face.aligned_url;
    if (face.aligned_url) {
      const stamp = "t=" + encodeURIComponent(face.updated_at);
      document.getElementById("aligned").src = face.aligned_url + "?" + stamp;
      document.getElementById("aligned-grey").src = face.aligned_grey_url + "&" + stamp;
    }
  }

  function newFaceDraft() {
    const side = Math.min(image.width, image.height) / 2;
    const x1 = (image.width - side) / 2;
    const y1 = (image.height - side) / 2;
    const at = (u, v) => [round(x1 + u * side), round(y1 + v * side)];
    return { box: [round(x1), round(y1), round(x1 + side), round(y1 + side)], landmarks: [at(0.32, 0.38), at(0.68, 0.38), at(0.5, 0.58), at(0.38, 0.76), at(0.62, 0.76)] };
  }

  function attributeValues() {
    const values = {};
    ATTRIBUTES.forEach((name) => {
      const raw = document.getElementById("attr-" + name).value;
      values[name] = raw === "" ? null : Number(raw);
    });
    return values;
  }

  async function save() {
    if (!draft) return;
    const body = Object.assign({ box: draft.box, landmarks: draft.landmarks }, attributeValues());
    const face = image.faces[faceIndex];
    say("Saving…");
    try {
      const saved = face ? await api("PATCH", config.faceUrl + face.id, body) : await api("POST", config.createUrl, body);
      await load(saved.id);
      say("Saved. Roll " + saved.roll.toFixed(1) + "°, yaw " + saved.yaw.toFixed(1) + "°, pitch " + saved.pitch.toFixed(1) + "°.");
    } catch (error) {
      say(error.message, true);
    }
  }

  async function load(faceId) {
    image = await api("GET", config.imageUrl);
    document.getElementById("photo").setAttribute("href", image.file_url);
    document.getElementById("image-status").textContent = image.status.replace("_", " ");
    const reports = document.getElementById("reports");
    reports.replaceChildren();
    image.reports.forEach((report) => {
      const line = document.createElement("p");
      line.className = "badge warn";
      line.textContent = "Reported: " + report.reason;
      reports.appendChild(line);
    });
    let index = image.faces.findIndex((face) => face.id === faceId);
    if (index < 0) index = image.faces.length ? 0 : -1;
    if (index < 0) draft = newFaceDraft();
    showFace(index);
  }

  document.getElementById("save").addEventListener("click", save);
  document.getElementById("add-face").addEventListener("click", () => {
    draft = newFaceDraft();
    showFace(-1);
    select(0, true);
  });
  document.getElementById("make-main").addEventListener("click", async () => {
    const face = image.faces[faceIndex];
    try {
      await api("POST", config.faceUrl + face.id + "/main");
      await load(face.id);
      say("This face is now the main face.");
    } catch (error) {
      say(error.message, true);
    }
  });
  document.getElementById("reject").addEventListener("click", async () => {
    const reason = document.getElementById("reject-reason").value.trim();
    if (!reason) {
      say("Say why the image is rejected.", true);
      return;
    }
    try {
      const result = await api("POST", config.rejectUrl, { reason: reason });
      document.getElementById("image-status").textContent = result.status;
      say("Image rejected.");
    } catch (error) {
      say(error.message, true);
    }
  });

  load(null).catch((error) => say(error.message, true));
})();
