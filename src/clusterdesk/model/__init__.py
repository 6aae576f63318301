"""The form model: definitions as data, values, expressions and rules. No Qt."""

from .form import Catalog, Cell, FormDef, FormDefinitionError, default_catalog, load_form
from .schema import SCHEMA_VERSION, Field, Form, Section

__all__ = [
    "Catalog", "Cell", "FormDef", "FormDefinitionError", "default_catalog", "load_form",
    "SCHEMA_VERSION", "Field", "Form", "Section",
]
