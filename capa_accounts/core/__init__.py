"""The shared core: the AccountSet model, YAML reading and writing, schemas, resource names,
errors and the one kustomization evaluator. It imports nothing else of capa_accounts."""
