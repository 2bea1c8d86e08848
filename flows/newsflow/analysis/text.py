"""The form of a cleaned document's text, shared by the stage that writes it (clean) and those that read it."""

# A document's text is its paragraphs joined by a blank line; paragraphs have no line breaks of their own.
PARAGRAPH_SEPARATOR = "\n\n"
