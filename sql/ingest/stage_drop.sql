DROP TABLE IF EXISTS {stage:Identifier}
