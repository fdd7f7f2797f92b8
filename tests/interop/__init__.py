"""Interoperability tests: a Kennisknoop node against software nobody here wrote (bovine,
bovine-herd, fediverse-pasture and its inputs corpus, httpsig)."""
