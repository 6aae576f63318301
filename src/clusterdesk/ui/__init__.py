"""The PySide6 wizard. Every Qt import goes through :mod:`clusterdesk.ui.qt`.

The core is imported, and the form definitions loaded, here, before any module of this package
imports Qt: once PySide6 is imported it inspects every module imported after it (its
``__feature__`` import hook), which made loading the core and the forms about 0.1 s slower when
they came after Qt.
"""

import clusterdesk.service  # noqa: F401  (the model, rules and store too)
# what the start window and the first section use besides (measured: every module imported after
# Qt passes PySide's import hook)
import clusterdesk.annual.engine  # noqa: F401
import clusterdesk.evidence_types  # noqa: F401
import clusterdesk.export.leftovers  # noqa: F401
import clusterdesk.logs  # noqa: F401
import clusterdesk.model.plan  # noqa: F401
from clusterdesk.model.form import FormDefinitionError, default_catalog

try:
    default_catalog()  # cached: the windows ask for it next
except FormDefinitionError:
    pass  # the start window asks again and says what is wrong
