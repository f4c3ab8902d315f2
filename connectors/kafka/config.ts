// Placeholder: the Kafka stream pipeline's config section. Owned by the stream pipeline.
import { z } from "zod";

export const KafkaConfigSchema = z.object({}).passthrough();
export type KafkaConfig = z.infer<typeof KafkaConfigSchema>;
