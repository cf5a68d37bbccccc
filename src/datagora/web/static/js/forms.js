// Small helpers for every page (no build step): a form with data-confirm asks before it is sent; a form with
// data-progress uploads with a progress bar and then follows the server's redirect.

for (const form of document.querySelectorAll("form[data-confirm]")) {
  form.addEventListener("submit", (event) => {
    if (!window.confirm(form.dataset.confirm)) event.preventDefault();
  });
}

for (const form of document.querySelectorAll("form[data-progress]")) {
  form.addEventListener("submit", (event) => {
    const bar = document.getElementById(form.dataset.progress);
    if (!bar || !window.XMLHttpRequest) return; // without the bar the form is sent the usual way
    event.preventDefault();
    const status = document.getElementById(form.dataset.progress + "-status");
    const request = new XMLHttpRequest();
    request.open(form.method, form.action);
    request.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable) {
        bar.value = Math.round((100 * e.loaded) / e.total);
        if (status) status.textContent = `Uploaded ${bar.value} %`;
      }
    });
    request.upload.addEventListener("load", () => {
      if (status) status.textContent = "Uploaded: the node is checking and publishing it…";
    });
    request.addEventListener("load", () => {
      // the answer is the next page (after the redirect) or an error page: show it as it is
      document.open();
      document.write(request.responseText);
      document.close();
      window.history.replaceState(null, "", request.responseURL);
    });
    request.addEventListener("error", () => {
      if (status) status.textContent = "The upload failed: the node did not answer. Try again.";
    });
    for (const button of form.querySelectorAll("button")) button.disabled = true;
    request.send(new FormData(form));
  });
}
