// Placeholder: the Jira connector's config section. Owned by the Jira connector.
import { z } from "zod";

export const JiraConfigSchema = z.object({}).passthrough();
export type JiraConfig = z.infer<typeof JiraConfigSchema>;
