"""Property tests of the validators: identifiers built from their check-digit algorithms,
numbers and dates that round-trip, phones in every way people write them, and arbitrary
input that never gets anything but a FieldError."""

import datetime as dt
import decimal

import phonenumbers
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tests.fields.helpers import CHOICES, cedula_check_digit, field, mod11_check_digit
from ticketing.fields import (
    KINDS,
    FieldError,
    UploadedFile,
    clean_value,
    normalize_cedula,
    normalize_phone,
    normalize_ruc,
    option_errors,
)

PEOPLE = {7: "Ana Andrade", 9: "Bruno Benítez"}
digits = st.text(alphabet="0123456789", min_size=1, max_size=1)
separator = st.sampled_from(["", " ", "-"])


@st.composite
def cedulas(draw):
    """A valid cédula: province 01-24, a natural person's third digit, its check digit."""
    province = f"{draw(st.integers(1, 24)):02d}"
    third = str(draw(st.integers(0, 5)))
    serial = draw(st.text(alphabet="0123456789", min_size=6, max_size=6))
    first_nine = province + third + serial
    return first_nine + cedula_check_digit(first_nine)


@st.composite
def rucs(draw):
    """A valid RUC of a natural person, a public entity or a company."""
    province = f"{draw(st.integers(1, 24)):02d}"
    kind = draw(st.sampled_from(["natural", "public", "company"]))
    if kind == "natural":
        return draw(cedulas()) + f"{draw(st.integers(1, 999)):03d}"
    if kind == "public":
        body = province + "6" + draw(st.text(alphabet="0123456789", min_size=5, max_size=5))
        check = mod11_check_digit(body, [3, 2, 7, 6, 5, 4, 3, 2])
        assume(check < 10)
        return body + str(check) + f"{draw(st.integers(1, 9999)):04d}"
    body = province + "9" + draw(st.text(alphabet="0123456789", min_size=6, max_size=6))
    check = mod11_check_digit(body, [4, 3, 2, 7, 6, 5, 4, 3, 2])
    assume(check < 10)
    return body + str(check) + f"{draw(st.integers(1, 999)):03d}"


def written(draw, number: str) -> str:
    """`number` as a person might type it: separators between some digits, spaces around."""
    out = []
    for i, digit in enumerate(number):
        if i and draw(st.booleans()):
            out.append(draw(separator))
        out.append(digit)
    return draw(st.sampled_from(["", " "])) + "".join(out) + draw(st.sampled_from(["", "  "]))


@given(cedulas(), st.data())
def test_valid_cedulas_pass_and_normalize_to_ten_digits(cedula, data):
    assert normalize_cedula(cedula) == cedula
    assert clean_value(field("cedula"), written(data.draw, cedula)) == cedula


@given(cedulas(), st.integers(0, 9), st.integers(1, 9))
def test_any_single_digit_change_of_a_cedula_is_refused(cedula, position, shift):
    wrong = str((int(cedula[position]) + shift) % 10)
    corrupted = cedula[:position] + wrong + cedula[position + 1 :]
    with pytest.raises(FieldError) as refused:
        normalize_cedula(corrupted)
    assert refused.value.message == "La cédula no es válida: revise sus 10 dígitos."


@given(rucs(), st.data())
def test_valid_rucs_pass_and_normalize_to_thirteen_digits(number, data):
    assert normalize_ruc(number) == number
    assert clean_value(field("ruc"), written(data.draw, number)) == number


@given(rucs(), st.integers(0, 12))
def test_ruc_missing_a_digit_is_refused(number, position):
    with pytest.raises(FieldError) as refused:
        normalize_ruc(number[:position] + number[position + 1 :])
    assert refused.value.message == "El RUC no es válido: revise sus 13 dígitos."


# ---------------------------------------------------------------- anything at all

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text() | st.binary(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)
SAMPLE_FIELDS = [
    field(kind, options={"min": -5, "max": 5})
    if kind in ("integer", "decimal")
    else field(kind, required=True)
    if kind == "check"
    else field(kind, options={"multiple": True})
    if kind == "person"
    else field(kind, options={"max_length": 50})
    if kind in ("text", "textarea")
    else field(kind, options={"extensions": ["pdf"], "max_mb": 1})
    if kind == "file"
    else field(kind)
    for kind in KINDS
]


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(SAMPLE_FIELDS), st.text() | json_values)
def test_arbitrary_input_never_raises_anything_but_field_error(definition, raw):
    try:
        clean_value(definition, raw, people=PEOPLE)
    except FieldError as refused:
        assert refused.message.strip()


@settings(deadline=None)
@given(st.sampled_from(SAMPLE_FIELDS), st.text())
def test_stored_text_never_holds_nul_or_unencodable_characters(definition, raw):
    try:
        stored = clean_value(definition, raw, people=PEOPLE)
    except FieldError:
        return
    for value in stored if isinstance(stored, list) else [stored]:
        if isinstance(value, str):
            assert "\x00" not in value
            value.encode("utf-8")  # what the database needs


@given(
    st.text(min_size=0, max_size=30),
    st.text(min_size=0, max_size=30),
    st.sampled_from(["text", "textarea"]),
)
def test_text_with_nul_anywhere_is_refused(before, after, kind):
    with pytest.raises(FieldError) as refused:
        clean_value(field(kind), f"x{before}\x00{after}x")
    assert refused.value.message == "El texto contiene caracteres no permitidos."


@given(st.integers(1, 60), st.text(alphabet="abcdeñáéí xyz", min_size=1, max_size=80))
def test_max_length_counts_characters_after_trimming(limit, text):
    text = "q" + text + "q"
    definition = field("text", options={"max_length": limit})
    if len(text) <= limit:
        assert clean_value(definition, text) == text
    else:
        with pytest.raises(FieldError) as refused:
            clean_value(definition, text)
        assert refused.value.message == f"Máximo {limit} caracteres."


# ---------------------------------------------------------------- numbers and dates

fifteen_digits = st.integers(-(10**15) + 1, 10**15 - 1)


@given(fifteen_digits, st.sampled_from(["{}", " {} ", "+{}"]))
def test_integers_round_trip(number, template):
    assume(number >= 0 or not template.startswith("+"))
    typed = template.format(number)
    assert clean_value(field("integer"), typed) == number
    assert clean_value(field("integer"), number) == number


@given(fifteen_digits, st.integers(0, 15), st.booleans())
def test_decimals_round_trip_as_plain_text(unscaled, places, comma):
    number = decimal.Decimal(unscaled).scaleb(-places)
    assume(number.adjusted() < 15)
    typed = format(number, "f")
    stored = clean_value(field("decimal"), typed.replace(".", ",") if comma else typed)
    assert decimal.Decimal(stored) == number
    assert "E" not in stored
    assert clean_value(field("decimal"), stored) == stored  # idempotent


@given(
    st.integers(-1000, 1000),
    st.integers(-1000, 1000),
    st.integers(-1000, 1000),
    st.sampled_from(["integer", "decimal"]),
)
def test_bounds_refuse_exactly_what_lies_outside(number, low, high, kind):
    assume(low <= high)
    definition = field(kind, options={"min": low, "max": high})
    if number < low:
        with pytest.raises(FieldError) as refused:
            clean_value(definition, str(number))
        assert refused.value.message == f"El valor mínimo es {low}."
    elif number > high:
        with pytest.raises(FieldError) as refused:
            clean_value(definition, str(number))
        assert refused.value.message == f"El valor máximo es {high}."
    else:
        assert decimal.Decimal(str(clean_value(definition, str(number)))) == number


@given(st.dates())
def test_iso_dates_round_trip(day):
    typed = day.isoformat()
    assume(len(typed) == 10)  # four-digit years, what a date input sends
    assert clean_value(field("date"), typed) == typed


@given(st.datetimes(min_value=dt.datetime(1000, 1, 1)), st.sampled_from(["T", " "]))
def test_iso_datetimes_are_stored_to_the_minute(moment, sep):
    typed = moment.isoformat(sep=sep)
    assert clean_value(field("datetime"), typed) == moment.strftime("%Y-%m-%dT%H:%M")


@given(st.lists(st.sampled_from([value for value, _ in CHOICES]), min_size=1, max_size=8))
def test_multichoice_keeps_each_choice_once_in_the_order_given(chosen):
    assert clean_value(field("multichoice"), chosen) == list(dict.fromkeys(chosen))


@given(st.text(min_size=1, max_size=10))
def test_choice_outside_the_choices_is_refused(value):
    assume(value.strip() not in {v for v, _ in CHOICES})
    with pytest.raises(FieldError) as refused:
        clean_value(field("choice"), value)
    assert refused.value.message == "Elija una de las opciones."


@given(
    st.sampled_from(["sí", "si", "true", "no", "false"]).flatmap(
        lambda word: st.tuples(
            st.just(word),
            st.lists(st.booleans(), min_size=len(word), max_size=len(word)),
        )
    )
)
def test_boolean_accepts_si_no_true_false_in_any_case(case):
    word, upper = case
    typed = "".join(c.upper() if u else c for c, u in zip(word, upper, strict=True))
    assert clean_value(field("boolean"), typed) is (word in ("sí", "si", "true"))


# ---------------------------------------------------------------- phones

mobile = st.builds(
    lambda second, rest: f"9{second}{rest}",
    st.sampled_from("6789"),
    st.text(alphabet="0123456789", min_size=7, max_size=7),
)
landline = st.builds(
    lambda area, rest: f"{area}{rest}",
    st.sampled_from("234567"),
    st.text(alphabet="0123456789", min_size=7, max_size=7),
)


@st.composite
def ecuadorian_numbers(draw):
    national = draw(mobile | landline)
    assume(
        national[0] != "9" or phonenumbers.is_valid_number(phonenumbers.parse("0" + national, "EC"))
    )
    style = draw(st.sampled_from(["national", "plus", "parens"]))
    if style == "national":
        typed = written(draw, "0" + national)
    elif style == "plus":
        typed = "+593 " + written(draw, national)
    else:
        typed = f"(0{national[0]}) {national[1:]}" if national[0] != "9" else "0" + national
    return national, typed


@settings(deadline=None)
@given(ecuadorian_numbers(), st.one_of(st.none(), st.integers(1, 999999)))
def test_ecuadorian_numbers_normalize_to_international_form(number, extension):
    national, typed = number
    if extension is not None:
        typed = f"{typed} ext. {extension}"
    expected = phonenumbers.format_number(
        phonenumbers.parse("+593" + national), phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    if extension is not None:
        expected += f" ext. {extension}"
    assert normalize_phone(typed) == expected
    assert expected.startswith("+593 ")
    assert normalize_phone(expected) == expected  # idempotent


FOREIGN = sorted(
    region
    for region in phonenumbers.SUPPORTED_REGIONS
    if region != "EC" and phonenumbers.example_number(region) is not None
)


def test_foreign_numbers_of_every_other_region_are_refused():
    assert len(FOREIGN) > 200
    for region in FOREIGN:
        example = phonenumbers.example_number(region)
        typed = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        with pytest.raises(FieldError) as refused:
            normalize_phone(typed)
        assert refused.value.message == "Solo se aceptan números de teléfono de Ecuador.", region


# ---------------------------------------------------------------- files and people


@given(st.integers(1, 4), st.integers(-3, 3))
def test_file_size_limit_in_megabytes(max_mb, offset):
    size = max_mb * 1024 * 1024 + offset
    upload = UploadedFile("a.pdf", "application/pdf", b"x" * size)
    definition = field("file", options={"max_mb": max_mb})
    if offset <= 0:
        assert clean_value(definition, upload) is upload
    else:
        with pytest.raises(FieldError) as refused:
            clean_value(definition, upload)
        assert refused.value.message == f"El archivo supera el tamaño máximo de {max_mb} MB."


@given(st.lists(st.integers(0, 20), min_size=1, max_size=5))
def test_person_accepts_only_ids_of_the_given_people(ids):
    definition = field("person", options={"multiple": True})
    if set(ids) <= set(PEOPLE):
        assert clean_value(definition, [str(i) for i in ids], people=PEOPLE) == list(
            dict.fromkeys(ids)
        )
    else:
        with pytest.raises(FieldError) as refused:
            clean_value(definition, [str(i) for i in ids], people=PEOPLE)
        assert refused.value.message == "Elija una persona de la institución."


option_values = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5)
options = st.fixed_dictionaries(
    {},
    optional={
        "min": option_values,
        "max": option_values,
        "max_length": option_values,
        "max_mb": option_values,
        "extensions": option_values | st.lists(option_values, max_size=3),
        "multiple": option_values,
    },
)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(KINDS)), options, st.text(max_size=20) | json_values)
def test_any_options_and_any_input_give_a_value_or_a_field_error(kind, opts, raw):
    definition = field(kind, options=opts)
    assert isinstance(option_errors(definition), list)
    try:
        clean_value(definition, raw, people=PEOPLE)
    except FieldError as refused:
        assert refused.message.strip()
