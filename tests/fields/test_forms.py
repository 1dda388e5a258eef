"""The generated WTForms form: cached per version and locale, labelled, and carrying
exactly what the person typed to the service."""

import io
from html.parser import HTMLParser

from flask import render_template_string
from werkzeug.datastructures import FileStorage

from tests.fields.helpers import every_kind, field
from ticketing.fields import (
    UploadedFile,
    build_form_class,
    clean_values,
    make_form,
    raw_from_form,
)

PEOPLE = {7: "Ana Andrade", 9: "Bruno Benítez", 12: "Carla Cedeño"}
RENDER = (
    "{% from 'mesa/_form.html' import render_field %}"
    "{% for f in form %}{{ render_field(f) }}{% endfor %}"
)


class Controls(HTMLParser):
    """Collects form controls, labels and legends of rendered HTML."""

    def __init__(self):
        super().__init__()
        self.controls, self.labels, self.required = {}, {}, set()
        self._label_for = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("input", "select", "textarea") and attrs.get("type") not in (
            "hidden",
            "submit",
        ):
            self.controls[attrs["id"]] = attrs
            if "required" in attrs:
                self.required.add(attrs["id"])
        if tag == "label":
            self._label_for = attrs.get("for")
            self.labels[self._label_for] = ""

    def handle_data(self, data):
        if self._label_for is not None:
            self.labels[self._label_for] += data

    def handle_endtag(self, tag):
        if tag == "label":
            self._label_for = None


def rendered(form) -> Controls:
    parser = Controls()
    parser.feed(render_template_string(RENDER, form=form))
    return parser


# ---------------------------------------------------------------- the class and its cache


def test_form_class_is_cached_per_version_and_locale(app):
    fields = every_kind()
    spanish = build_form_class(("cache-test", 1), fields, "es")
    assert build_form_class(("cache-test", 1), fields, "es") is spanish
    english = build_form_class(("cache-test", 1), fields, "en")
    assert english is not spanish
    assert build_form_class(("cache-test", 1), fields, "en") is english
    assert build_form_class(("cache-test", 2), fields, "es") is not spanish


def test_a_changed_definition_under_the_same_key_gets_a_fresh_form(app):
    """A version no ticket uses is edited in place, and ids restart in a new database."""
    before = build_form_class(("cache-test", 3), [field("text", name="a", label="A")], "es")
    after_fields = [field("text", name="a", label="A"), field("cedula", name="b", label="B")]
    after = build_form_class(("cache-test", 3), after_fields, "es")
    assert after is not before
    assert hasattr(after, "f_b") and not hasattr(before, "f_b")


def test_uncached_form_class_when_no_key(app):
    fields = [field("text")]
    assert build_form_class(None, fields) is not build_form_class(None, fields)


def test_labels_use_label_en_in_english_and_fall_back_to_spanish(app):
    fields = every_kind() + [field("text", name="sin_ingles", label="Solo en español", order=99)]
    spanish = make_form(build_form_class(("labels", 1), fields, "es"), people=PEOPLE)
    english = make_form(build_form_class(("labels", 1), fields, "en"), people=PEOPLE)
    assert spanish.f_cedula.label.text == "Cédula del AIQ"
    assert english.f_cedula.label.text == "AIQ ID number"
    assert english.f_sin_ingles.label.text == "Solo en español"
    assert [f.label.text for f in spanish][:3] == [
        "Título",
        "Nombre de la institución",
        "Descripción",
    ]


def test_fields_follow_their_order_not_their_position(app):
    fields = [
        field("text", name="segundo", label="B", order=2),
        field("text", name="primero", label="A", order=1),
    ]
    form = make_form(build_form_class(None, fields, with_title=False))
    assert [f.name for f in form] == ["f_primero", "f_segundo"]


# ---------------------------------------------------------------- the HTML people see


def test_every_generated_input_has_a_label(app):
    form = make_form(build_form_class(("html", 1), every_kind(), "es"), people=PEOPLE)
    html = rendered(form)
    assert len(html.controls) == 1 + 16 + 3  # title, 16 single controls, 3 multichoice boxes
    unlabelled = [control for control in html.controls if control not in html.labels]
    assert unlabelled == []
    text = {control: " ".join(label.split()) for control, label in html.labels.items()}
    assert text["f_cedula"] == "Cédula del AIQ *"
    assert text["f_modulos-2"] == "Otro"
    assert text["f_acepta"] == "Acepto las condiciones *"
    assert text["f_produccion"] == "¿Ya en producción?"


def test_english_form_renders_english_labels(app):
    form = make_form(build_form_class(("html", 1), every_kind(), "en"), people=PEOPLE)
    html = rendered(form)
    assert " ".join(html.labels["f_ruc"].split()) == "Tax number *"
    assert " ".join(html.labels["f_oficio"].split()) == "Signed letter *"


def test_required_attributes_never_block_a_box(app):
    fields = every_kind()
    for definition in fields:
        if definition["kind"] == "multichoice":
            definition["required"] = True
    form = make_form(build_form_class(None, fields), people=PEOPLE)
    html = rendered(form)
    assert {"title", "f_nombre", "f_cedula", "f_oficio"} <= html.required
    assert "f_acepta" not in html.required  # an unticked box gets the service's message
    assert html.controls["f_acepta"]["aria-required"] == "true"
    boxes = [attrs for control, attrs in html.controls.items() if control.startswith("f_modulos-")]
    assert len(boxes) == 3
    assert not any("required" in box or "aria-required" in box for box in boxes)
    legend = render_template_string(RENDER, form=form).split("<legend", 1)[1].split("</legend>")[0]
    assert "Otros módulos" in legend and "*" in legend  # the group is marked, not each box


def test_inputs_carry_the_limits_of_their_definition(app):
    form = make_form(build_form_class(None, every_kind()), people=PEOPLE)
    html = rendered(form)
    assert html.controls["f_nombre"]["maxlength"] == "100"
    assert html.controls["f_usuarios"]["type"] == "number"
    assert html.controls["f_usuarios"]["min"] == "1"
    assert html.controls["f_fecha_oficio"]["type"] == "date"
    assert html.controls["f_reunion"]["type"] == "datetime-local"
    assert html.controls["f_telefono"]["type"] == "tel"
    assert html.controls["f_oficio"]["accept"] == ".pdf"


def test_person_choices_are_the_people_of_the_institution(app):
    form = make_form(build_form_class(None, every_kind()), people=PEOPLE)
    assert [(c.value, c.label) for c in form.f_responsable.choices] == [
        ("", "—"),
        ("7", "Ana Andrade"),
        ("9", "Bruno Benítez"),
        ("12", "Carla Cedeño"),
    ]
    assert [c.value for c in form.f_focales.choices] == ["7", "9", "12"]


def test_edit_form_shows_the_stored_values(app):
    data = {
        "f_nombre": "Ministerio",
        "f_fecha_oficio": "2024-05-24",
        "f_reunion": "2024-05-24T09:30",
        "f_modulo": "consulta",
        "f_modulos": ["otro", "incidente"],
        "f_produccion": True,
        "f_focales": [9, 12],
        "f_responsable": 7,
        "f_acepta": True,
        "f_usuarios": 250,
    }
    form = make_form(build_form_class(None, every_kind()), people=PEOPLE, data=data)
    html = render_template_string(RENDER, form=form)
    assert '<option selected value="true">Sí</option>' in html
    assert '<option selected value="consulta">Consulta</option>' in html
    assert '<option selected value="7">Ana Andrade</option>' in html
    assert '<option selected value="12">Carla Cedeño</option>' in html
    assert 'checked class="form-check-input" id="f_modulos-2"' in html
    assert 'value="2024-05-24T09:30"' in html
    assert 'value="250"' in html
    no_form = make_form(
        build_form_class(None, every_kind()), people=PEOPLE, data={"f_produccion": False}
    )
    assert '<option selected value="false">No</option>' in render_template_string(
        RENDER, form=no_form
    )


# ---------------------------------------------------------------- what reaches the service

TYPED = {
    "title": "Solicitud de uso de Quipux",
    "f_nombre": "  Ministerio de Prueba ",
    "f_descripcion": "Primera línea\r\nSegunda línea",
    "f_usuarios": "0250",
    "f_presupuesto": "1500,50",
    "f_fecha_oficio": "2024-05-24",
    "f_reunion": "2024-05-28T09:30",
    "f_correo": "AIQ@Prueba.GOB.EC",
    "f_telefono": "(02) 123 4567 ext. 12",
    "f_cedula": "171003406-5",
    "f_ruc": "1760000230001",
    "f_modulo": "consulta",
    "f_modulos": ["otro", "incidente", "otro"],
    "f_produccion": "false",
    "f_focales": ["12", "7"],
    "f_responsable": "9",
    "f_acepta": "y",
}


def post(app, data):
    return app.test_request_context("/", method="POST", data=data)


def test_raw_from_form_returns_exactly_what_was_typed(app):
    data = dict(
        TYPED, f_oficio=(io.BytesIO(b"%PDF-1.4 oficio"), "Oficio 001.pdf", "application/pdf")
    )
    with post(app, data):
        form = make_form(build_form_class(None, every_kind()), people=PEOPLE)
        assert form.validate_on_submit(), form.errors
        raw = raw_from_form(form)
    assert raw == {
        "nombre": "  Ministerio de Prueba ",
        "descripcion": "Primera línea\r\nSegunda línea",
        "usuarios": "0250",
        "presupuesto": "1500,50",
        "fecha_oficio": "2024-05-24",
        "reunion": "2024-05-28T09:30",
        "correo": "AIQ@Prueba.GOB.EC",
        "telefono": "(02) 123 4567 ext. 12",
        "cedula": "171003406-5",
        "ruc": "1760000230001",
        "modulo": "consulta",
        "modulos": ["otro", "incidente", "otro"],
        "produccion": "false",
        "oficio": UploadedFile("Oficio 001.pdf", "application/pdf", b"%PDF-1.4 oficio"),
        "focales": ["12", "7"],
        "responsable": "9",
        "acepta": True,
    }


def test_typed_form_validates_into_normalized_values(app):
    data = dict(TYPED, f_oficio=(io.BytesIO(b"%PDF-1.4 oficio"), "oficio.pdf", "application/pdf"))
    with post(app, data):
        form = make_form(build_form_class(None, every_kind()), people=PEOPLE)
        values, errors = clean_values(every_kind(), raw_from_form(form), people=PEOPLE)
    assert errors == {}
    assert values["nombre"] == "Ministerio de Prueba"
    assert values["descripcion"] == "Primera línea\nSegunda línea"
    assert values["usuarios"] == 250
    assert values["presupuesto"] == "1500.50"
    assert values["correo"] == "AIQ@prueba.gob.ec"
    assert values["telefono"] == "+593 2-123-4567 ext. 12"
    assert values["cedula"] == "1710034065"
    assert values["modulos"] == ["otro", "incidente"]
    assert values["produccion"] is False
    assert values["focales"] == [12, 7]
    assert values["responsable"] == 9
    assert values["acepta"] is True


def test_raw_from_an_empty_submission(app):
    with post(app, {"title": "x"}):
        form = make_form(build_form_class(None, every_kind()), people=PEOPLE)
        raw = raw_from_form(form)
    assert raw["nombre"] is None
    assert raw["modulos"] == []
    assert raw["focales"] == []
    assert raw["responsable"] is None
    assert raw["acepta"] is False
    assert raw["oficio"] is None
    values, errors = clean_values(every_kind(), raw, people=PEOPLE)
    assert errors["acepta"] == "Debe marcar esta casilla."
    assert errors["oficio"] == "Este campo es obligatorio."
    assert errors["cedula"] == "Este campo es obligatorio."


def test_file_input_left_empty_is_no_file(app):
    data = {"title": "x", "f_oficio": (io.BytesIO(b""), "", "application/octet-stream")}
    with post(app, data):
        form = make_form(build_form_class(None, every_kind()), people=PEOPLE)
        assert raw_from_form(form)["oficio"] is None


def test_file_bytes_survive_reading_the_form_twice(app):
    data = {"title": "x", "f_oficio": (io.BytesIO(b"%PDF datos"), "a.pdf", "application/pdf")}
    with post(app, data):
        form = make_form(build_form_class(None, every_kind()), people=PEOPLE)
        first, second = raw_from_form(form)["oficio"], raw_from_form(form)["oficio"]
    assert first.data == second.data == b"%PDF datos"


def test_raw_from_a_form_built_from_a_file_storage(app):
    """What the admin and the API hand over: a werkzeug FileStorage from the request."""
    from werkzeug.datastructures import CombinedMultiDict, ImmutableMultiDict, MultiDict

    storage = FileStorage(io.BytesIO(b"PNG..."), filename="captura.png", content_type="image/png")
    formdata = CombinedMultiDict(
        [MultiDict({"f_oficio": storage}), ImmutableMultiDict({"title": "x", "f_cedula": "1"})]
    )
    with app.test_request_context("/"):
        form = make_form(build_form_class(None, every_kind()), people=PEOPLE, formdata=formdata)
        raw = raw_from_form(form)
    assert raw["oficio"] == UploadedFile("captura.png", "image/png", b"PNG...")
    assert raw["cedula"] == "1"
    values, errors = clean_values(every_kind(), raw, people=PEOPLE)
    assert errors["oficio"] == "Tipo de archivo no permitido; se aceptan: pdf."
    assert errors["cedula"] == "La cédula no es válida: revise sus 10 dígitos."


def test_defaults_of_the_definition_prefill_a_new_form(app):
    fields = [
        field("multichoice", name="modulos", label="Módulos", default="otro, consulta"),
        field("check", name="acepta", label="Acepto", default="sí"),
        field("boolean", name="urgente", label="Urgente", default="false"),
        field("text", name="ciudad", label="Ciudad", default="Quito"),
    ]
    html = render_template_string(RENDER, form=make_form(build_form_class(None, fields)))
    assert 'checked class="form-check-input" id="f_modulos-1"' in html  # consulta
    assert 'checked class="form-check-input" id="f_modulos-2"' in html  # otro
    assert (
        'id="f_modulos-0"' in html
        and 'checked class="form-check-input" id="f_modulos-0"' not in html
    )
    assert "checked" in html.split('id="f_acepta"')[0].rsplit("<input", 1)[1]
    assert '<option selected value="false">No</option>' in html
    assert 'value="Quito"' in html
