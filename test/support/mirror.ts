// Field-by-field comparison of the PostgreSQL mirror with the simulator's ground truth.
import type pg from 'pg';
import { MIRRORED_ASSOCIATIONS } from '../../src/hubspot/associations.js';
import type { GroundTruth } from '../../src/sandbox/client.js';

/** Every difference, as readable lines (empty when the mirror is exact). */
export async function mirrorDifferences(pool: pg.Pool, connectionId: string, truth: GroundTruth, objectTypes: string[]): Promise<string[]> {
  const problems: string[] = [];
  for (const type of objectTypes) {
    const rows = await pool.query(
      `select object_id, properties, updated_at, archived, merged_into from crm_objects where connection_id = $1 and object_type = $2`,
      [connectionId, type],
    );
    const mirrored = new Map(rows.rows.map((row) => [row.object_id as string, row]));
    const expected = truth.objects[type] ?? [];
    for (const record of expected) {
      const row = mirrored.get(record.id);
      if (!row) {
        problems.push(`${type} ${record.id}: missing`);
        continue;
      }
      mirrored.delete(record.id);
      if (row.archived !== record.archived) problems.push(`${type} ${record.id}: archived ${row.archived}, HubSpot ${record.archived}`);
      if (record.archived) continue;
      if (new Date(row.updated_at).toISOString() !== record.updatedAt) problems.push(`${type} ${record.id}: updatedAt ${new Date(row.updated_at).toISOString()}, HubSpot ${record.updatedAt}`);
      for (const [name, value] of Object.entries(record.properties)) {
        if ((row.properties[name] ?? null) !== value) problems.push(`${type} ${record.id}.${name}: ${JSON.stringify(row.properties[name])}, HubSpot ${JSON.stringify(value)}`);
      }
      for (const [name, value] of Object.entries(row.properties as Record<string, unknown>)) {
        if (value !== null && value !== '' && !(name in record.properties)) problems.push(`${type} ${record.id}.${name}: ${JSON.stringify(value)} not in HubSpot`);
      }
    }
    // What HubSpot no longer has (merged away) must be archived in the mirror and point to the survivor.
    // GDPR-deleted ones must be archived tombstones without any property.
    for (const [id, row] of mirrored) {
      const tombstone = row.archived && (row.merged_into || Object.keys(row.properties).length === 0);
      if (!tombstone) problems.push(`${type} ${id}: in the mirror but not in HubSpot`);
    }
  }

  const key = (a: { fromType: string; fromId: string; toType: string; toId: string; typeId: number; label: string | null }) =>
    `${a.fromType}:${a.fromId}->${a.toType}:${a.toId}#${a.typeId}${a.label === null ? '' : ` "${a.label}"`}`;
  const liveIds = new Set(objectTypes.flatMap((type) => (truth.objects[type] ?? []).filter((r) => !r.archived).map((r) => `${type}:${r.id}`)));
  // HubSpot's read API shows no edge to an archived record, from either end: nor does the mirror.
  const expectedEdges = new Set(
    truth.associations
      .filter((a) => objectTypes.includes(a.fromType) && (MIRRORED_ASSOCIATIONS[a.fromType] ?? []).includes(a.toType))
      .filter((a) => liveIds.has(`${a.fromType}:${a.fromId}`) && (!objectTypes.includes(a.toType) || liveIds.has(`${a.toType}:${a.toId}`)))
      .map(key),
  );
  const rows = await pool.query(`select from_type, from_id, to_type, to_id, type_id, label from crm_associations where connection_id = $1`, [connectionId]);
  const actualEdges = new Set(rows.rows.map((r) => key({ fromType: r.from_type, fromId: r.from_id, toType: r.to_type, toId: r.to_id, typeId: r.type_id, label: r.label })));
  for (const edge of expectedEdges) if (!actualEdges.has(edge)) problems.push(`association missing: ${edge}`);
  for (const edge of actualEdges) if (!expectedEdges.has(edge)) problems.push(`association not in HubSpot: ${edge}`);
  return problems;
}
