"""End to end in Chromium: the focal user pastes a screenshot into a comment written in
Markdown; the comment shows formatted with the image as a thumbnail, the requester sees
both, opens the image inline, and the ticket page passes axe-core (WCAG A/AA)."""

import base64

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, screenshot
from tests.browser.test_axe import blocking_violations, with_axe
from tests.conftest import make_ticket, user
from tests.test_files import PNG

pytestmark = pytest.mark.browser

PASTE = """
(png) => {
  const bytes = Uint8Array.from(atob(png), (c) => c.charCodeAt(0));
  const transfer = new DataTransfer();
  transfer.items.add(new File([bytes], "image.png", { type: "image/png" }));
  const box = document.getElementById("comment-body");
  box.focus();
  const event = new ClipboardEvent("paste", { clipboardData: transfer, bubbles: true, cancelable: true });
  box.dispatchEvent(event);
  return event.defaultPrevented;
}
"""


def test_a_pasted_image_becomes_the_comments_thumbnail(site):
    with site.app.test_request_context():
        ticket = make_ticket(user("interno"), title="La firma falla")
        ticket_id = ticket.id

    focal = with_axe(site.page_as("focal", viewport=DESKTOP))
    focal.goto(f"/ticket/{ticket_id}/")
    expect(focal.get_by_text("Admite Markdown")).to_be_visible()
    focal.get_by_label("Nuevo comentario").fill("Vea el **error** en la captura:\n- paso 1")
    prevented = focal.evaluate(PASTE, base64.b64encode(PNG).decode("ascii"))
    assert prevented  # only an image on the clipboard: no text pasted
    expect(focal.get_by_test_id("paste-status")).to_have_text(
        "Imagen pegada: se adjuntará al comentario"
    )
    names = focal.eval_on_selector("#comment-file", "i => Array.from(i.files, f => f.name)")
    assert len(names) == 1 and names[0].startswith("imagen-pegada-") and names[0].endswith(".png")
    focal.get_by_role("button", name="Comentar").click()

    comment = focal.get_by_test_id("comment").last
    expect(comment.locator("strong")).to_have_text("error")
    expect(comment.get_by_test_id("comment-body").locator("li")).to_have_text("paso 1")
    thumbnail = comment.get_by_role("img", name=names[0])
    expect(thumbnail).to_be_visible()
    assert thumbnail.evaluate("img => img.naturalWidth") == 1  # the bytes loaded as an image
    assert blocking_violations(focal) == []
    screenshot(focal, "texto-rico-01-comentario")

    interno = with_axe(site.page_as("interno", viewport=DESKTOP))
    interno.goto(f"/ticket/{ticket_id}/")
    expect(interno.get_by_test_id("comment").last.locator("strong")).to_have_text("error")
    image = interno.get_by_test_id("comment").last.get_by_role("img", name=names[0])
    expect(image).to_be_visible()
    assert blocking_violations(interno) == []
    src = image.get_attribute("src")
    response = interno.request.get(src)
    assert response.status == 200
    assert response.headers["content-type"] == "image/png"
    assert response.headers["content-disposition"].startswith("inline")
    assert "sandbox" in response.headers["content-security-policy"]


def test_without_javascript_the_comment_form_still_sends_a_file(site, browser, tmp_path):
    with site.app.test_request_context():
        ticket = make_ticket(user("interno"), title="Sin JavaScript")
        ticket_id = ticket.id
    page = site.page_as("focal", viewport=DESKTOP)
    context = browser.new_context(java_script_enabled=False, base_url=site.url)
    context.add_cookies(page.context.cookies())
    plain = context.new_page()
    plain.goto(f"/ticket/{ticket_id}/")
    picture = tmp_path / "captura.png"
    picture.write_bytes(PNG)
    plain.get_by_label("Nuevo comentario").fill("Adjunto *captura*")
    plain.get_by_label("Adjunto (opcional)").set_input_files(str(picture))
    plain.get_by_role("button", name="Comentar").click()
    comment = plain.get_by_test_id("comment").last
    expect(comment.locator("em")).to_have_text("captura")
    expect(comment.get_by_role("img", name="captura.png")).to_be_visible()
    context.close()
