// Placeholder: the Slack bot's config section. Owned by the bot.
import { z } from "zod";

export const SlackConfigSchema = z.object({}).passthrough();
export type SlackConfig = z.infer<typeof SlackConfigSchema>;
