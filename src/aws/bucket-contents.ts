import type { S3Client } from '@aws-sdk/client-s3';

/** True when the bucket holds any object version or delete marker (a versioned bucket is only empty without both). */
export async function bucketHasObjects(s3: S3Client, bucket: string): Promise<boolean> {
  const { ListObjectVersionsCommand } = await import('@aws-sdk/client-s3');
  const page = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, MaxKeys: 1 }));
  return (page.Versions?.length ?? 0) + (page.DeleteMarkers?.length ?? 0) > 0;
}

/** Deletes every object version and delete marker, 1,000 per request. Returns how many went. */
export async function emptyBucket(s3: S3Client, bucket: string): Promise<number> {
  const { DeleteObjectsCommand, ListObjectVersionsCommand } = await import('@aws-sdk/client-s3');
  let deleted = 0;
  let keyMarker: string | undefined;
  let versionMarker: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectVersionsCommand({ Bucket: bucket, KeyMarker: keyMarker, VersionIdMarker: versionMarker }),
    );
    const objects = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])].map((entry) => ({
      Key: entry.Key!,
      ...(entry.VersionId ? { VersionId: entry.VersionId } : {}),
    }));
    for (let start = 0; start < objects.length; start += 1000) {
      const batch = objects.slice(start, start + 1000);
      const result = await s3.send(
        new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch, Quiet: true } }),
      );
      if (result.Errors && result.Errors.length > 0) {
        const first = result.Errors[0]!;
        throw new Error(`could not delete s3://${bucket}/${first.Key}: ${first.Code} ${first.Message}`);
      }
      deleted += batch.length;
    }
    keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
    versionMarker = page.IsTruncated ? page.NextVersionIdMarker : undefined;
  } while (keyMarker !== undefined);
  return deleted;
}

/** Deletes an empty bucket; false when it is not empty any more (e.g. a late access-log delivery) or already gone. */
export async function deleteEmptyBucket(s3: S3Client, bucket: string): Promise<boolean> {
  const { DeleteBucketCommand } = await import('@aws-sdk/client-s3');
  try {
    await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
    return true;
  } catch (error) {
    if (['BucketNotEmpty', 'NoSuchBucket'].includes((error as Error).name)) return false;
    throw error;
  }
}
