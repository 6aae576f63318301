"""Qt-free export building blocks: Word (docxkit), Excel (xlsxkit), PDF (pdf),
atomic file output (atomic) and XML-safe text (textsafe)."""
