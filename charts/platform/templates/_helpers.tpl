{{/*
Chart name (app.kubernetes.io/name).
*/}}
{{- define "platform.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Full name prefix of every object: <release>-<chart name> (or the release name when it already
contains the chart name), at most 63 characters.
*/}}
{{- define "platform.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
Name of a component's objects: <fullname>-<component>, at most 63 characters.
Usage: include "platform.componentName" (dict "ctx" $ "component" "api")
*/}}
{{- define "platform.componentName" -}}
{{- printf "%s-%s" (include "platform.fullname" .ctx) .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Namespace of every namespaced object.
*/}}
{{- define "platform.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
helm.sh/chart label value.
*/}}
{{- define "platform.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Selector labels shared by every pod of the release.
*/}}
{{- define "platform.selectorLabels" -}}
app.kubernetes.io/name: {{ include "platform.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/*
Selector labels of one component.
Usage: include "platform.componentSelectorLabels" (dict "ctx" $ "component" "api")
*/}}
{{- define "platform.componentSelectorLabels" -}}
{{ include "platform.selectorLabels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/*
Standard labels of every object (without a component).
*/}}
{{- define "platform.labels" -}}
helm.sh/chart: {{ include "platform.chart" . }}
{{ include "platform.selectorLabels" . }}
{{- with .Chart.AppVersion }}
app.kubernetes.io/version: {{ . | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: {{ include "platform.name" . }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
Standard labels of a component's objects.
Usage: include "platform.componentLabels" (dict "ctx" $ "component" "api")
*/}}
{{- define "platform.componentLabels" -}}
{{ include "platform.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/*
Image reference: [registry/]repository[:tag][@digest]. The tag defaults to the appVersion.
Usage: include "platform.image" (dict "image" .Values.api.image "ctx" $)
*/}}
{{- define "platform.image" -}}
{{- $registry := default .ctx.Values.global.imageRegistry .image.registry -}}
{{- $repository := .image.repository -}}
{{- if $registry -}}
{{- $repository = printf "%s/%s" (trimSuffix "/" $registry) $repository -}}
{{- end -}}
{{- $tag := toString (default .ctx.Chart.AppVersion .image.tag) -}}
{{- $ref := $repository -}}
{{- if $tag -}}
{{- $ref = printf "%s:%s" $ref $tag -}}
{{- end -}}
{{- if .image.digest -}}
{{- $ref = printf "%s@%s" $ref .image.digest -}}
{{- end -}}
{{- $ref -}}
{{- end -}}

{{/*
ServiceAccount of the api (read-only RBAC: the tenant resource report).
*/}}
{{- define "platform.api.serviceAccountName" -}}
{{- if .Values.api.serviceAccount.create -}}
{{- default (include "platform.componentName" (dict "ctx" . "component" "api")) .Values.api.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.api.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/*
ServiceAccount of the worker (tenant provisioning; the subject of the provisioner ClusterRoleBinding
and of the admission policy).
*/}}
{{- define "platform.worker.serviceAccountName" -}}
{{- if .Values.worker.serviceAccount.create -}}
{{- default (include "platform.componentName" (dict "ctx" . "component" "worker")) .Values.worker.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.worker.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/*
ServiceAccount of the ml-gateway.
*/}}
{{- define "platform.mlGateway.serviceAccountName" -}}
{{- if .Values.mlGateway.serviceAccount.create -}}
{{- default (include "platform.componentName" (dict "ctx" . "component" "ml-gateway")) .Values.mlGateway.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.mlGateway.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/*
Name of the cluster-scoped RBAC objects: includes the namespace, as two releases of the same
name in different namespaces must not share them.
Usage: include "platform.clusterRoleName" (dict "ctx" $ "role" "tenant-provisioner")
*/}}
{{- define "platform.clusterRoleName" -}}
{{- printf "%s-%s-%s" (include "platform.namespace" .ctx) (include "platform.fullname" .ctx) .role -}}
{{- end -}}

{{/*
The label that marks the namespaces the platform manages, as packages/core/src/kubernetes/tenant-namespaces.ts
sets it (MANAGED_BY_LABEL = MANAGED_BY) and checks it before any patch or delete.
*/}}
{{- define "platform.managedByLabel" -}}app.kubernetes.io/managed-by{{- end -}}
{{- define "platform.managedByValue" -}}platform{{- end -}}

{{/*
Name of the Secret holding DATABASE_URL, REDIS_URL and ADMIN_TOKEN.
*/}}
{{- define "platform.secretName" -}}
{{- default (include "platform.fullname" .) .Values.secret.existingSecret -}}
{{- end -}}

{{/*
DATABASE_URL written into the created Secret.
*/}}
{{- define "platform.databaseUrl" -}}
{{- if .Values.postgresql.enabled -}}
{{- $pg := .Values.postgresql -}}
{{- $password := required "postgresql.auth.password is required when postgresql.enabled=true" $pg.auth.password -}}
{{- printf "postgres://%s:%s@%s.%s.svc:%v/%s" $pg.auth.username $password (include "platform.componentName" (dict "ctx" . "component" "postgresql")) (include "platform.namespace" .) $pg.port $pg.auth.database -}}
{{- else -}}
{{- required "secret.databaseUrl is required (or secret.existingSecret, or postgresql.enabled=true)" .Values.secret.databaseUrl -}}
{{- end -}}
{{- end -}}

{{/*
DATABASE_OWNER_URL written into the created Secret: the owner role, for the migrations Job and the
worker's provisioning ("": DATABASE_URL's role does everything, as with the bundled PostgreSQL).
*/}}
{{- define "platform.databaseOwnerUrl" -}}
{{- if not .Values.postgresql.enabled -}}
{{- .Values.secret.databaseOwnerUrl -}}
{{- end -}}
{{- end -}}

{{/*
REDIS_URL written into the created Secret.
*/}}
{{- define "platform.redisUrl" -}}
{{- if .Values.redis.enabled -}}
{{- printf "redis://%s.%s.svc:%v/0" (include "platform.componentName" (dict "ctx" . "component" "redis")) (include "platform.namespace" .) .Values.redis.port -}}
{{- else -}}
{{- required "secret.redisUrl is required (or secret.existingSecret, or redis.enabled=true)" .Values.secret.redisUrl -}}
{{- end -}}
{{- end -}}

{{/*
ADMIN_TOKEN written into the created Secret ("" in development: the api then uses its default).
*/}}
{{- define "platform.adminToken" -}}
{{- $token := .Values.secret.adminToken -}}
{{- if eq .Values.config.nodeEnv "production" -}}
{{- if lt (len $token) 32 -}}
{{- fail "secret.adminToken must be at least 32 characters when config.nodeEnv=production (or use secret.existingSecret)" -}}
{{- end -}}
{{- end -}}
{{- $token -}}
{{- end -}}

{{/*
ML_GATEWAY_URL of the api and the worker.
*/}}
{{- define "platform.mlGatewayUrl" -}}
{{- if .Values.config.mlGatewayUrl -}}
{{- .Values.config.mlGatewayUrl -}}
{{- else if .Values.mlGateway.enabled -}}
{{- printf "http://%s.%s.svc:%v" (include "platform.componentName" (dict "ctx" . "component" "ml-gateway")) (include "platform.namespace" .) .Values.mlGateway.service.port -}}
{{- else -}}
{{- fail "config.mlGatewayUrl is required when mlGateway.enabled=false" -}}
{{- end -}}
{{- end -}}

{{/*
Events of the migrations hook. The bundled PostgreSQL only exists after the install, so with it
the first run is post-install.
*/}}
{{- define "platform.migrations.hookEvents" -}}
{{- if .Values.postgresql.enabled -}}
post-install,pre-upgrade
{{- else -}}
pre-install,pre-upgrade
{{- end -}}
{{- end -}}

{{/*
Whether the KEDA ScaledObject is rendered: keda.enabled and (the API is served or keda.force).
*/}}
{{- define "platform.keda.render" -}}
{{- if and .Values.keda.enabled (or .Values.keda.force (.Capabilities.APIVersions.Has "keda.sh/v1alpha1")) -}}
true
{{- end -}}
{{- end -}}

{{/*
Username and password in secret.redisUrl, as a dict (empty strings when there are none; nothing
with the bundled Redis). A percent-escaped one cannot be decoded by a template: it fails.
*/}}
{{- define "platform.redisUrlAuth" -}}
{{- $auth := dict "username" "" "password" "" -}}
{{- if and (not .Values.redis.enabled) .Values.secret.redisUrl (not .Values.secret.existingSecret) -}}
{{- $userinfo := (urlParse .Values.secret.redisUrl).userinfo -}}
{{- if contains ":" $userinfo -}}
{{- $parts := splitn ":" 2 $userinfo -}}
{{- $_ := set $auth "username" $parts._0 -}}
{{- $_ := set $auth "password" $parts._1 -}}
{{- else if $userinfo -}}
{{- $_ := set $auth "username" $userinfo -}}
{{- end -}}
{{- if or (contains "%" $auth.username) (contains "%" $auth.password) -}}
{{- fail "secret.redisUrl: a percent-escaped Redis username or password cannot be passed to KEDA; keep it in a Secret and set keda.redis.auth.existingSecret" -}}
{{- end -}}
{{- end -}}
{{- toYaml $auth -}}
{{- end -}}

{{/*
Whether the chart renders KEDA's TriggerAuthentication for Redis: KEDA is rendered, no external
keda.authenticationRef, and a Secret holds the password (keda.redis.auth.existingSecret, or the
chart's own Secret when secret.redisUrl has one).
*/}}
{{- define "platform.keda.triggerAuthentication" -}}
{{- if and (include "platform.keda.render" .) (not .Values.keda.authenticationRef) -}}
{{- if or .Values.keda.redis.auth.existingSecret (include "platform.redisUrlAuth" . | fromYaml).password -}}
true
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
Name of the TriggerAuthentication the ScaledObject's triggers use ("" for none).
*/}}
{{- define "platform.keda.authenticationRef" -}}
{{- if .Values.keda.authenticationRef -}}
{{- .Values.keda.authenticationRef -}}
{{- else if include "platform.keda.triggerAuthentication" . -}}
{{- include "platform.componentName" (dict "ctx" . "component" "worker-redis") -}}
{{- end -}}
{{- end -}}

{{/*
Environment variables with the Secret's values. `ownerUrl`: DATABASE_OWNER_URL too (the worker;
optional, so a Secret without it means one role for everything).
Usage: include "platform.secretEnv" (dict "ctx" $ "adminToken" true "ownerUrl" false)
*/}}
{{- define "platform.secretEnv" -}}
{{- $name := include "platform.secretName" .ctx -}}
{{- $keys := .ctx.Values.secret.keys -}}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ $name }}
      key: {{ $keys.databaseUrl }}
{{- if .ownerUrl }}
- name: DATABASE_OWNER_URL
  valueFrom:
    secretKeyRef:
      name: {{ $name }}
      key: {{ $keys.databaseOwnerUrl }}
      optional: true
{{- end }}
- name: REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ $name }}
      key: {{ $keys.redisUrl }}
{{- if .adminToken }}
- name: ADMIN_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ $name }}
      key: {{ $keys.adminToken }}
      optional: true
{{- end }}
{{- end -}}

{{/*
Environment variables from a NAME: value map (values are quoted).
*/}}
{{- define "platform.envMap" -}}
{{- range $name, $value := . }}
- name: {{ $name }}
  value: {{ toString $value | quote }}
{{- end }}
{{- end -}}

{{/*
Pod template annotations that roll the pods when the ConfigMap or the created Secret changes.
*/}}
{{- define "platform.checksumAnnotations" -}}
checksum/config: {{ include (print .Template.BasePath "/configmap.yaml") . | sha256sum }}
{{- if not .Values.secret.existingSecret }}
checksum/secret: {{ include (print .Template.BasePath "/secret.yaml") . | sha256sum }}
{{- end }}
{{- end -}}

{{/*
Scheduling fields of a pod spec: nodeSelector, affinity, tolerations, topology spread
(constraints without a labelSelector get the component's selector labels) and priority class.
Usage: include "platform.scheduling" (dict "ctx" $ "component" "api" "values" .Values.api)
*/}}
{{- define "platform.scheduling" -}}
{{- with .values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- if .values.topologySpreadConstraints }}
{{- $constraints := list }}
{{- range .values.topologySpreadConstraints }}
{{- $constraint := deepCopy . }}
{{- if not (hasKey $constraint "labelSelector") }}
{{- $_ := set $constraint "labelSelector" (dict "matchLabels" (include "platform.componentSelectorLabels" (dict "ctx" $.ctx "component" $.component) | fromYaml)) }}
{{- end }}
{{- $constraints = append $constraints $constraint }}
{{- end }}
topologySpreadConstraints:
  {{- toYaml $constraints | nindent 2 }}
{{- end }}
{{- with .values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- end -}}

{{/*
Pod disruption budget spec fields.
*/}}
{{- define "platform.pdbSpec" -}}
{{- /* Pods that are not ready (crash-looping, or a bad rollout) may be evicted: they serve nothing,
and they would otherwise block node drains. */}}
unhealthyPodEvictionPolicy: AlwaysAllow
{{- if not (kindIs "invalid" .minAvailable) }}
minAvailable: {{ .minAvailable }}
{{- else if not (kindIs "invalid" .maxUnavailable) }}
maxUnavailable: {{ .maxUnavailable }}
{{- else }}
maxUnavailable: 1
{{- end }}
{{- end -}}

{{/*
HorizontalPodAutoscaler (autoscaling/v2) metrics.
*/}}
{{- define "platform.hpaMetrics" -}}
metrics:
  {{- with .targetCPUUtilizationPercentage }}
  - type: Resource
    resource:
      name: cpu
      target:
        type: Utilization
        averageUtilization: {{ . }}
  {{- end }}
  {{- with .targetMemoryUtilizationPercentage }}
  - type: Resource
    resource:
      name: memory
      target:
        type: Utilization
        averageUtilization: {{ . }}
  {{- end }}
{{- end -}}

{{/*
Values checks that a JSON schema cannot express.
*/}}
{{- define "platform.validateValues" -}}
{{- if and .Values.keda.enabled (not .Values.keda.redis.address) (not .Values.redis.enabled) (not .Values.secret.redisUrl) -}}
{{- fail "keda.redis.address is required when keda.enabled=true and neither redis.enabled nor secret.redisUrl is set" -}}
{{- end -}}
{{- if and .Values.mlGateway.autoscaling.enabled (not .Values.mlGateway.enabled) -}}
{{- fail "mlGateway.autoscaling.enabled needs mlGateway.enabled=true" -}}
{{- end -}}
{{- range $name, $autoscaling := dict "api.autoscaling" .Values.api.autoscaling "mlGateway.autoscaling" .Values.mlGateway.autoscaling "keda" .Values.keda -}}
{{- if gt (int $autoscaling.minReplicas) (int $autoscaling.maxReplicas) -}}
{{- fail (printf "%s.minReplicas (%v) must not exceed %s.maxReplicas (%v)" $name $autoscaling.minReplicas $name $autoscaling.maxReplicas) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
The port of a URL: its explicit port, else DEFAULT.
Usage: include "platform.urlPort" (dict "url" "postgres://h:6432/db" "default" 5432)
*/}}
{{- define "platform.urlPort" -}}
{{- $host := (urlParse .url).host -}}
{{- if regexMatch ":[0-9]+$" $host -}}
{{- regexFind "[0-9]+$" $host -}}
{{- else -}}
{{- .default -}}
{{- end -}}
{{- end -}}

{{/*
Egress rule to a dependency: the bundled pods (by component, on their named port), else the
configured peers, or any address when none are given, on the dependency's port.
Usage: include "platform.egressRule" (dict "ctx" $ "bundled" bool "component" "postgresql" "portName" "postgresql" "values" .Values.networkPolicy.egress.postgresql "port" 5432)
*/}}
{{- define "platform.egressRule" -}}
{{- if .bundled }}
- to:
    - podSelector:
        matchLabels:
          {{- include "platform.componentSelectorLabels" (dict "ctx" .ctx "component" .component) | nindent 10 }}
  ports:
    - port: {{ .portName }}
      protocol: TCP
{{- else }}
- {{- with .values.to }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  ports:
    - port: {{ .port }}
      protocol: TCP
{{- end }}
{{- end -}}

{{/*
Egress rules of the api and the worker (what both call). Usage: include "platform.egressRules" (dict "ctx" $ "kubernetesApi" true)
*/}}
{{- define "platform.egressRules" -}}
{{- $ctx := .ctx -}}
{{- $v := $ctx.Values -}}
{{- $egress := $v.networkPolicy.egress -}}
{{- include "platform.egressDns" $ctx }}
{{- /* PostgreSQL */}}
{{- $pgPort := $egress.postgresql.port -}}
{{- if kindIs "invalid" $pgPort -}}
{{- $pgPort = ternary (include "platform.urlPort" (dict "url" $v.secret.databaseUrl "default" 5432)) 5432 (and (not $v.secret.existingSecret) (ne $v.secret.databaseUrl "")) -}}
{{- end -}}
{{- include "platform.egressRule" (dict "ctx" $ctx "bundled" $v.postgresql.enabled "component" "postgresql" "portName" "postgresql" "values" $egress.postgresql "port" $pgPort) }}
{{- /* Redis */}}
{{- $redisPort := $egress.redis.port -}}
{{- if kindIs "invalid" $redisPort -}}
{{- $redisPort = ternary (include "platform.urlPort" (dict "url" $v.secret.redisUrl "default" 6379)) 6379 (and (not $v.secret.existingSecret) (ne $v.secret.redisUrl "")) -}}
{{- end -}}
{{- include "platform.egressRule" (dict "ctx" $ctx "bundled" $v.redis.enabled "component" "redis" "portName" "redis" "values" $egress.redis "port" $redisPort) }}
{{- /* ml-gateway: the chart's, or the one at config.mlGatewayUrl */}}
{{- $mlPort := $egress.mlGateway.port -}}
{{- if and (kindIs "invalid" $mlPort) $v.config.mlGatewayUrl -}}
{{- $mlPort = include "platform.urlPort" (dict "url" $v.config.mlGatewayUrl "default" (ternary 443 80 (hasPrefix "https:" $v.config.mlGatewayUrl))) -}}
{{- end -}}
{{- include "platform.egressRule" (dict "ctx" $ctx "bundled" (and $v.mlGateway.enabled (not $v.config.mlGatewayUrl)) "component" "ml-gateway" "portName" "http" "values" $egress.mlGateway "port" $mlPort) }}
{{- /* The Kubernetes API (tenant namespaces) */}}
{{- if and .kubernetesApi (ne $v.config.kubernetes "off") }}
- {{- with $egress.kubernetesApi.to }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  ports:
    {{- range $egress.kubernetesApi.ports }}
    - port: {{ . }}
      protocol: TCP
    {{- end }}
{{- end }}
{{- include "platform.egressExternal" $ctx }}
{{- end -}}

{{/*
Egress rule to the cluster DNS.
*/}}
{{- define "platform.egressDns" -}}
{{- $dns := .Values.networkPolicy.egress.dns }}
- to:
    - namespaceSelector:
        {{- toYaml $dns.namespaceSelector | nindent 8 }}
      {{- with $dns.podSelector }}
      podSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
  ports:
    - port: 53
      protocol: UDP
    - port: 53
      protocol: TCP
{{- end -}}

{{/*
Egress rule to public addresses (networkPolicy.allowExternalEgress): everything but private,
shared, link-local (cloud metadata) and unique-local ranges.
*/}}
{{- define "platform.egressExternal" -}}
{{- if .Values.networkPolicy.allowExternalEgress }}
- to:
    - ipBlock:
        cidr: 0.0.0.0/0
        except:
          - 10.0.0.0/8
          - 100.64.0.0/10
          - 169.254.0.0/16
          - 172.16.0.0/12
          - 192.168.0.0/16
    - ipBlock:
        cidr: ::/0
        except:
          - fc00::/7
          - fe80::/10
{{- end }}
{{- end -}}
