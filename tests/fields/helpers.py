"""Field definitions and valid identifiers shared by the field tests."""

from ticketing.fields import UploadedFile

CHOICES = [["incidente", "Incidente"], ["consulta", "Consulta"], ["otro", "Otro"]]


def field(kind, **extra):
    """A field definition as a ticket type version stores it."""
    definition = {
        "name": "campo",
        "label": "Campo",
        "label_en": "",
        "help_text": "",
        "kind": kind,
        "required": False,
        "order": 0,
        "fieldset": "",
        "default": "",
        "choices": CHOICES if kind in ("choice", "multichoice") else [],
        "options": {},
    }
    definition.update(extra)
    return definition


def cedula_check_digit(first_nine: str) -> str:
    """The tenth digit of a cédula (coefficients 2,1,2,1... with nines cast out, mod 10)."""
    total = 0
    for position, digit in enumerate(first_nine):
        product = int(digit) * (2 if position % 2 == 0 else 1)
        total += product - 9 if product > 9 else product
    return str((10 - total % 10) % 10)


def mod11_check_digit(digits: str, weights: list[int]) -> int:
    """The RUC check digit over `digits` with `weights` (11 minus the sum mod 11)."""
    return (11 - sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11) % 11


PDF = UploadedFile("oficio.pdf", "application/pdf", b"%PDF-1.4 oficio de solicitud")


def every_kind() -> list[dict]:
    """One field of every kind (a person field both single and multiple), in form order."""
    specs = [
        (
            "nombre",
            "text",
            "Nombre de la institución",
            "Institution name",
            True,
            {"max_length": 100},
        ),
        ("descripcion", "textarea", "Descripción", "Description", False, {}),
        ("usuarios", "integer", "Número de usuarios", "Number of users", False, {"min": 1}),
        ("presupuesto", "decimal", "Presupuesto", "Budget", False, {"min": 0}),
        ("fecha_oficio", "date", "Fecha del oficio", "Letter date", False, {}),
        ("reunion", "datetime", "Reunión", "Meeting", False, {}),
        ("correo", "email", "Correo del AIQ", "AIQ email", True, {}),
        ("telefono", "phone", "Teléfono", "Phone", True, {}),
        ("cedula", "cedula", "Cédula del AIQ", "AIQ ID number", True, {}),
        ("ruc", "ruc", "RUC", "Tax number", True, {}),
        ("modulo", "choice", "Módulo", "Module", True, {}),
        ("modulos", "multichoice", "Otros módulos", "Other modules", False, {}),
        ("produccion", "boolean", "¿Ya en producción?", "Already live?", False, {}),
        (
            "oficio",
            "file",
            "Oficio firmado",
            "Signed letter",
            True,
            {"max_mb": 1, "extensions": ["pdf"]},
        ),
        ("focales", "person", "Usuarios focales", "Focal users", False, {"multiple": True}),
        ("responsable", "person", "Responsable", "Person in charge", False, {}),
        ("acepta", "check", "Acepto las condiciones", "I accept", True, {}),
    ]
    return [
        field(
            kind,
            name=name,
            label=label,
            label_en=label_en,
            required=required,
            order=order,
            options=options,
            help_text=f"Ayuda de {label}",
        )
        for order, (name, kind, label, label_en, required, options) in enumerate(specs, start=1)
    ]
