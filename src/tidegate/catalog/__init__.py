"""Catalogers: pure parsers that turn claimed files into packages (the SBOM). One module per ecosystem."""
