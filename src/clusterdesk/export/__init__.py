"""Qt-free export building blocks: Word (word), Excel (xlsxkit), PDF (pdf),
atomic file output (atomic), sets of files published together and folder
manifests (publish), the program's temporary files and their clean-up after a
crash (leftovers), and XML-safe text (textsafe)."""
